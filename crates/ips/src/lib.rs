//! Palisade's packet layer (work in progress): NFQUEUE verdict engine and nftables ban sets.
