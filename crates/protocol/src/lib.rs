//! Versioned JSON messages of the gated control socket, shared by gated and gatectl.
