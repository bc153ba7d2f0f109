//! Backend-independent rules of the Doors API: what `capi` calls. Each
//! function applies the rules every backend shares and makes its calls
//! into the backend through `backend::get()`.
pub mod door;
pub mod preload;
pub mod synch;
pub mod thr;
pub mod ucred;
