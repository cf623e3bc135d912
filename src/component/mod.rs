//! The XEP-0114 link.
