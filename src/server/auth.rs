//! Bearer-token authentication: with a token configured, every call to the agentshim service
//! and to reflection must carry `authorization: Bearer <token>`, compared in constant time.
//! The health service stays open so load balancers and Kubernetes probes (which cannot send
//! credentials) can check liveness; it reveals nothing but "serving".

use std::sync::Arc;

use subtle::ConstantTimeEq;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// Checks the bearer token of each request (accepts everything when none is configured).
#[derive(Clone, Default)]
pub struct TokenCheck {
    expected: Option<Arc<[u8]>>,
}

impl std::fmt::Debug for TokenCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCheck")
            .field("enabled", &self.expected.is_some())
            .finish()
    }
}

impl TokenCheck {
    pub fn new(token: Option<&str>) -> Self {
        Self {
            expected: token.map(|t| Arc::from(t.as_bytes())),
        }
    }
}

impl Interceptor for TokenCheck {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.expected else {
            return Ok(request);
        };
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        match presented {
            Some(token) if bool::from(token.as_bytes().ct_eq(expected)) => Ok(request),
            Some(_) => Err(Status::unauthenticated("invalid bearer token")),
            None => Err(Status::unauthenticated(
                "this server requires `authorization: Bearer <token>` \
                 (set AGENTSHIM_TOKEN or --token for the CLI, -H for grpcurl)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(token: Option<&str>, header: Option<&str>) -> Result<(), tonic::Code> {
        let mut request = Request::new(());
        if let Some(header) = header {
            request
                .metadata_mut()
                .insert("authorization", header.parse().unwrap());
        }
        TokenCheck::new(token)
            .call(request)
            .map(drop)
            .map_err(|status| status.code())
    }

    #[test]
    fn token_is_required_and_compared() {
        assert_eq!(check(None, None), Ok(()));
        assert_eq!(check(Some("s3cret"), Some("Bearer s3cret")), Ok(()));
        let unauthenticated = Err(tonic::Code::Unauthenticated);
        assert_eq!(check(Some("s3cret"), None), unauthenticated);
        assert_eq!(check(Some("s3cret"), Some("Bearer s3cre")), unauthenticated);
        assert_eq!(check(Some("s3cret"), Some("s3cret")), unauthenticated);
    }
}
