//! How fault rules change the SASL responses: the injected error code. Neither response
//! has `throttle_time_ms` in any version, so a throttle rule changes nothing in them.

use kafka_protocol::messages::{SaslAuthenticateResponse, SaslHandshakeResponse};

use super::fault_response::FaultableResponse;

impl FaultableResponse for SaslHandshakeResponse {
    const THROTTLE_SINCE: i16 = i16::MAX;
    fn set_throttle(&mut self, _ms: i32) {}
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
    }
}

impl FaultableResponse for SaslAuthenticateResponse {
    const THROTTLE_SINCE: i16 = i16::MAX;
    fn set_throttle(&mut self, _ms: i32) {}
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
        self.error_message = None;
        self.auth_bytes = Default::default();
    }
}
