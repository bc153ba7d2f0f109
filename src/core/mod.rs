//! Backend-independent rules of the Doors API.
pub mod thr;
pub mod ucred;
