//! The TLS listeners' certificate and key: read from PEM files, or, for local use, a CA
//! and a certificate it signs made at startup, the CA written to a file clients trust.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::BrokerConfig;

/// Why the TLS listeners cannot be set up, naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate file cannot be read or holds no PEM certificate.
    #[error("tls_cert {path}: {reason}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key file cannot be read or holds no PEM private key.
    #[error("tls_key {path}: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The certificate and key do not make a server configuration (e.g. they do not match).
    #[error("tls_cert {cert} with tls_key {key}: {reason}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// The self-signed certificate cannot be made or its CA written.
    #[error("tls_self_signed: {0}")]
    SelfSigned(String),
}

/// What the TLS listeners need: the acceptor, and where a self-signed CA was written.
pub(crate) struct TlsSetup {
    /// Performs the server side of each handshake.
    pub(crate) acceptor: TlsAcceptor,
    /// The CA certificate (PEM) that `tls_self_signed` wrote for clients to trust, and its text.
    pub(crate) ca: Option<(PathBuf, String)>,
}

/// The TLS setup of `config`, or `None` when no listener uses TLS.
///
/// # Errors
/// [`TlsError`] naming the file or step that failed.
pub(crate) fn setup(config: &BrokerConfig) -> Result<Option<TlsSetup>, TlsError> {
    if !config.listeners.iter().any(|l| l.protocol.tls()) {
        return Ok(None);
    }
    let (chain, key, ca) = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let (chain, key_der) = read_pem(cert, key)?;
            let server = server_config(chain, key_der).map_err(|reason| TlsError::Mismatch {
                cert: cert.clone(),
                key: key.clone(),
                reason,
            })?;
            return Ok(Some(TlsSetup {
                acceptor: TlsAcceptor::from(server),
                ca: None,
            }));
        }
        _ => self_signed(config)?,
    };
    let server = server_config(chain, key).map_err(TlsError::SelfSigned)?;
    Ok(Some(TlsSetup {
        acceptor: TlsAcceptor::from(server),
        ca: Some(ca),
    }))
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

fn read_pem(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let cert_error = |reason: String| TlsError::Certificate {
        path: cert.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_error(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_error(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into(),
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.to_path_buf(),
        reason: format!("{e} (expected a PEM private key: PKCS#8, PKCS#1 or SEC1)"),
    })?;
    Ok((chain, key_der))
}

/// The certificate chain, its key, and the CA: where its PEM was written and the PEM.
type SelfSigned = (
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
    (PathBuf, String),
);

/// A CA and a certificate it signs for every name a local client may use, the CA's PEM
/// written to `tls_ca_file` (or a file in the temp directory).
fn self_signed(config: &BrokerConfig) -> Result<SelfSigned, TlsError> {
    let failed = |e: rcgen::Error| TlsError::SelfSigned(e.to_string());
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "mock-broker local CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca =
        rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().map_err(failed)?)
            .map_err(failed)?;
    let mut leaf = rcgen::CertificateParams::new(subject_names(config)).map_err(failed)?;
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "mock-broker");
    leaf.use_authority_key_identifier_extension = true;
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = rcgen::KeyPair::generate().map_err(failed)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca).map_err(failed)?;
    let ca_file = config.tls_ca_file.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("mock-broker-{}-ca.pem", std::process::id()))
    });
    let ca_pem = ca.pem();
    std::fs::write(&ca_file, &ca_pem).map_err(|e| {
        TlsError::SelfSigned(format!(
            "cannot write the CA certificate to {}: {e}",
            ca_file.display()
        ))
    })?;
    let key = PrivateKeyDer::try_from(leaf_key.serialize_der())
        .map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    Ok((
        vec![leaf_cert.der().clone(), ca.der().clone()],
        key,
        (ca_file, ca_pem),
    ))
}

/// The names the certificate is valid for: the loopback names, the advertised host and
/// every listener's address that is not a wildcard.
fn subject_names(config: &BrokerConfig) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    let mut add = |name: String| {
        if !names.contains(&name) {
            names.push(name);
        }
    };
    if let Some(advertise) = &config.advertise {
        let host = match advertise.rsplit_once(':') {
            Some((host, port)) if port.parse::<u16>().is_ok() => host,
            _ => advertise.as_str(),
        };
        add(host.trim_matches(['[', ']']).to_string());
    }
    let ips =
        std::iter::once(config.listen.ip()).chain(config.listeners.iter().map(|l| l.address.ip()));
    for ip in ips.filter(|ip: &IpAddr| !ip.is_unspecified()) {
        add(ip.to_string());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::ListenerSpec;

    fn tls_config() -> BrokerConfig {
        let mut config = BrokerConfig::ephemeral();
        config
            .listeners
            .push("SSL://127.0.0.1:0".parse::<ListenerSpec>().unwrap());
        config
    }

    #[test]
    fn no_tls_listener_needs_no_setup() {
        assert!(setup(&BrokerConfig::ephemeral()).unwrap().is_none());
    }

    #[test]
    fn self_signed_writes_a_ca_that_signed_the_certificate() {
        let mut config = tls_config();
        config.tls_self_signed = true;
        config.advertise = Some("broker.example:19092".into());
        let path = std::env::temp_dir().join(format!("tls-ca-test-{}.pem", std::process::id()));
        config.tls_ca_file = Some(path.clone());
        let setup = setup(&config).unwrap().unwrap();
        let (written, text) = setup.ca.unwrap();
        assert_eq!(written, path);
        let pem = std::fs::read_to_string(&path).unwrap();
        assert_eq!(pem, text);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert!(subject_names(&config).contains(&"broker.example".to_string()));
    }

    #[test]
    fn missing_or_wrong_files_are_named() {
        let dir = std::env::temp_dir().join(format!("tls-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = tls_config();
        config.tls_cert = Some(dir.join("absent.pem"));
        config.tls_key = Some(dir.join("key.pem"));
        let error = setup(&config).err().unwrap().to_string();
        assert!(
            error.contains("tls_cert") && error.contains("absent.pem"),
            "{error}"
        );
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        config.tls_cert = Some(not_pem.clone());
        let error = setup(&config).err().unwrap().to_string();
        assert!(error.contains("no PEM certificate"), "{error}");
    }
}
