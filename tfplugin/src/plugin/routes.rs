//! Routes each gRPC call to the service its path names (`/SERVICE/METHOD`), as tonic's router
//! would, for the four services a plugin serves. Doing it here keeps axum, which tonic's router
//! is built on, out of the provider binary. A call to any other service is answered
//! `Unimplemented`, as gRPC servers do.

use std::convert::Infallible;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::NamedService;

/// A gRPC service as tonic generates it: named, always ready, never failing at the HTTP level.
pub trait GrpcService:
    Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible, Future: Send + 'static>
    + NamedService
    + Clone
    + Send
    + 'static
{
}

impl<S> GrpcService for S where
    S: Service<
            http::Request<Body>,
            Response = http::Response<Body>,
            Error = Infallible,
            Future: Send + 'static,
        > + NamedService
        + Clone
        + Send
        + 'static
{
}

/// The plugin's services, each reached by its name.
#[derive(Clone)]
pub struct Routes<A, B, C, D> {
    pub health: A,
    pub controller: B,
    pub stdio: C,
    pub provider: D,
}

impl<A: GrpcService, B: GrpcService, C: GrpcService, D: GrpcService> Service<http::Request<Body>>
    for Routes<A, B, C, D>
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Generated services are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let service = request.uri().path().trim_start_matches('/').split('/').next().unwrap_or_default();
        if service == A::NAME {
            Box::pin(self.health.call(request))
        } else if service == B::NAME {
            Box::pin(self.controller.call(request))
        } else if service == C::NAME {
            Box::pin(self.stdio.call(request))
        } else if service == D::NAME {
            Box::pin(self.provider.call(request))
        } else {
            let status = tonic::Status::unimplemented(format!("no service {service:?} here"));
            Box::pin(std::future::ready(Ok(status.into_http())))
        }
    }
}
