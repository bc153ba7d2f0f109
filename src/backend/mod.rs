//! Door backends: how doors are made, called and served.
pub mod user;
