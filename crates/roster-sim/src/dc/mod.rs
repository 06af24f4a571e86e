//! Confluence Data Center simulator (being written).
