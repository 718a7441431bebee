//! Raw HTTP/1.x request parsing for `palisade check`.
