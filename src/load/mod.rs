//! Load: the load client every timed request goes through ([`client`]: one
//! pinned event loop per client CPU, or one blocking keep-alive
//! connection), a lean HTTP/1.1 response reader ([`http1`]), and what load
//! is and comes to ([`hammer`]: the plan, each request's outcome as data,
//! merged after the clock stops), what is sent and what counts as its
//! answer ([`request`]: requests as data, weighted mixes, the contract's
//! two), and the responder the client's own ceiling is measured against
//! ([`responder`]). Knows nothing of
//! processes: it is given an address.

pub mod client;
pub mod hammer;
pub mod http1;
pub mod pool;
pub mod request;
pub mod responder;
pub mod route;

pub use request::{BodyCheck, Expect, Method, Mix, RequestSpec};
pub use route::Route;
