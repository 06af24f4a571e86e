//! Confluence Cloud simulator (being written).
