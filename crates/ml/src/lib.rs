//! Palisade's machine-learned detectors (work in progress).
