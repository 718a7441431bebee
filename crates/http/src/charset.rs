//! The `charset` of a request body: which ones Palisade reads as they are, and which it
//! cannot read.
//!
//! Signatures and parsers look at bytes. For an ASCII-compatible charset (UTF-8, the ISO
//! 8859 and Windows code pages, the CJK multi-byte sets) every ASCII character — all the
//! syntax an attack needs — is the same byte the application decodes, so reading the bytes
//! is reading what the application reads. Others are not: IIS/ASP.NET decodes a form body
//! declared `charset=ibm037` (EBCDIC) where `'` is 0x7D and `<` is 0x4C, and UTF-7 spells
//! `<` as `+ADw-` — a known way past WAFs that read bytes. UTF-16 and UTF-32 are read as
//! bytes too (signature pipelines remove their NULs); any other charset is one the caller refuses (see the engine's
//! `policy:charset`).

/// How a body in a given charset is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetKind {
    /// ASCII bytes mean ASCII characters: read as they are.
    AsciiCompatible,
    /// Read as bytes too: its ASCII is ASCII with NULs, which signature pipelines remove.
    Utf16(Option<Endian>),
    Utf32(Option<Endian>),
    /// Not read correctly by byte matching (EBCDIC, UTF-7, unknown names).
    Unreadable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

/// `Content-Type`'s `charset` parameters, lowercased and unquoted (empty values left out).
/// Parameters are split on `;`, `,` and whitespace, and every `charset=` counts:
/// ASP.NET also takes `charset` after a comma or a space, and servers differ on which of
/// two wins, so the caller judges each.
pub fn charset_params(content_type: &str) -> Vec<String> {
    content_type
        .split([';', ',', ' ', '\t'])
        .skip(1)
        .filter_map(|p| {
            let (name, value) = p.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("charset") {
                return None;
            }
            let v = value
                .trim()
                .trim_matches(['"', '\''])
                .trim()
                .to_ascii_lowercase();
            (!v.is_empty()).then_some(v)
        })
        .collect()
}

/// The first of [`charset_params`].
pub fn charset_param(content_type: &str) -> Option<String> {
    charset_params(content_type).into_iter().next()
}

/// Canonical form for comparing names: lowercase without `-`, `_`, `.`, spaces
/// (`Shift_JIS`, `shift-jis` and `SJIS`-style aliases then compare by their letters).
pub fn canonical(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Charsets (canonical names) that keep ASCII as ASCII, beyond the prefixed families in
/// [`kind`].
const ASCII_COMPATIBLE: &[&str] = &[
    "utf8",
    "ascii",
    "usascii",
    "ansix341968",
    "us",
    "latin1",
    "latin2",
    "latin3",
    "latin4",
    "latin5",
    "latin6",
    "latin7",
    "latin8",
    "latin9",
    "latin10",
    "l1",
    "shiftjis",
    "sjis",
    "xsjis",
    "mskanji",
    "cp932",
    "windows31j",
    "eucjp",
    "euckr",
    "euccn",
    "euctw",
    "gb2312",
    "gbk",
    "gb18030",
    "cp936",
    "big5",
    "big5hkscs",
    "cp950",
    "cp949",
    "uhc",
    "ksc56011987",
    "tis620",
    "cp874",
    "windows874",
    "koi8r",
    "koi8u",
    "macintosh",
    "macroman",
    "xmacroman",
    "cp437",
    "cp850",
    "cp852",
    "cp855",
    "cp857",
    "cp858",
    "cp860",
    "cp861",
    "cp862",
    "cp863",
    "cp865",
    "cp866",
    "cp869",
    "ibm437",
    "ibm850",
    "ibm852",
    "ibm855",
    "ibm857",
    "ibm860",
    "ibm861",
    "ibm862",
    "ibm863",
    "ibm865",
    "ibm866",
    "ibm869",
    "iso2022jp",
    "iso2022kr",
    "iso2022cn",
    "viscii",
    "armscii8",
    "georgianps",
    "ptcp154",
    "cp1125",
    // WHATWG Encoding Standard labels and common aliases of the sets above
    "csutf8",
    "unicode11utf8",
    "unicode20utf8",
    "xunicode20utf8",
    "utf8mb3",
    "utf8mb4",
    "utf8sig",
    "csascii",
    "cp367",
    "ibm367",
    "isoir6",
    "cp819",
    "ibm819",
    "csisolatin1",
    "csisolatin2",
    "csisolatin3",
    "csisolatin4",
    "csisolatin5",
    "csisolatin6",
    "csisolatin9",
    "csisolatincyrillic",
    "csisolatinarabic",
    "csisolatingreek",
    "csisolatinhebrew",
    "cyrillic",
    "arabic",
    "greek",
    "greek8",
    "hebrew",
    "isoir100",
    "isoir101",
    "isoir109",
    "isoir110",
    "isoir126",
    "isoir127",
    "isoir138",
    "isoir144",
    "isoir148",
    "isoir149",
    "isoir157",
    "isoir58",
    "l2",
    "l3",
    "l4",
    "l5",
    "l6",
    "l9",
    "csshiftjis",
    "ms932",
    "mskanji",
    "cseucpkdfmtjapanese",
    "xeucjp",
    "csiso2022jp",
    "cseuckr",
    "csksc56011987",
    "korean",
    "ksc5601",
    "ksc56011989",
    "windows949",
    "ms949",
    "chinese",
    "csgb2312",
    "csiso58gb231280",
    "gb231280",
    "xgbk",
    "ms936",
    "cnbig5",
    "csbig5",
    "xxbig5",
    "ms950",
    "cskoi8r",
    "koi",
    "koi8",
    "koi8ru",
    "xmaccyrillic",
    "xmacukrainian",
    "mac",
    "csmacintosh",
    "dos874",
    "iso885911",
    "xusersdefined",
    // libmagic's name for content that is not text (`file -i`): its bytes, as they are
    "binary",
];

/// How a body declared in `charset` (any spelling) is read.
pub fn kind(charset: &str) -> CharsetKind {
    let c = canonical(charset);
    let endian = |rest: &str| match rest {
        "le" => Some(Some(Endian::Little)),
        "be" => Some(Some(Endian::Big)),
        "" => Some(None),
        _ => None,
    };
    if let Some(e) = c.strip_prefix("utf16").and_then(endian) {
        return CharsetKind::Utf16(e);
    }
    if let Some(e) = c.strip_prefix("utf32").and_then(endian) {
        return CharsetKind::Utf32(e);
    }
    match c.as_str() {
        // .NET's and WHATWG's names for UTF-16 LE and BE, and UCS-4
        "unicode" | "ucs2" | "csunicode" | "iso10646ucs2" | "unicodefeff" => {
            return CharsetKind::Utf16(None)
        }
        "unicodefffe" => return CharsetKind::Utf16(Some(Endian::Big)),
        "ucs4" | "iso10646ucs4" | "csucs4" => return CharsetKind::Utf32(None),
        _ => {}
    }
    let families = ["iso8859", "windows125", "cp125", "xcp125", "ibm125"];
    if ASCII_COMPATIBLE.contains(&c.as_str()) || families.iter().any(|f| c.starts_with(f)) {
        return CharsetKind::AsciiCompatible;
    }
    CharsetKind::Unreadable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_parameters_are_found_in_any_spelling() {
        assert_eq!(
            charset_param("application/json; charset=UTF-8").as_deref(),
            Some("utf-8")
        );
        assert_eq!(
            charset_param("text/plain;foo=1; Charset=\"ibm037\"").as_deref(),
            Some("ibm037")
        );
        assert_eq!(charset_param("application/json"), None);
        assert_eq!(
            charset_params("application/x-www-form-urlencoded,charset=ibm037"),
            vec!["ibm037"]
        );
        assert_eq!(charset_params("a/b; x=y charset=ibm037"), vec!["ibm037"]);
        assert_eq!(
            charset_params("a/b, charset=ibm037 ; charset='utf-8'"),
            vec!["ibm037", "utf-8"]
        );
        assert_eq!(charset_param("application/json; charset="), None);
    }

    #[test]
    fn ascii_compatible_charsets_are_read_as_they_are_others_are_not() {
        for c in [
            "utf-8",
            "UTF8",
            "us-ascii",
            "ISO-8859-1",
            "iso8859-15",
            "windows-1252",
            "cp1251",
            "Shift_JIS",
            "euc-jp",
            "GB18030",
            "big5",
            "koi8-r",
            "iso-2022-jp",
            "latin1",
            "binary",
            "iso-ir-100",
            "cp819",
            "MS932",
            "csShiftJIS",
            "x-euc-jp",
            "utf8mb4",
            "utf-8-sig",
            "unicode-1-1-utf-8",
            "ks_c_5601-1987",
            "x-mac-cyrillic",
        ] {
            assert_eq!(kind(c), CharsetKind::AsciiCompatible, "{c}");
        }
        for c in [
            "ibm037",
            "IBM500",
            "cp875",
            "ibm1026",
            "cp1140",
            "utf-7",
            "x-imap4-modified-utf7",
            "hz-gb-2312",
            "utf-ebcdic",
            "made-up",
            "utf-8x",
        ] {
            assert_eq!(kind(c), CharsetKind::Unreadable, "{c}");
        }
        assert_eq!(kind("UTF-16LE"), CharsetKind::Utf16(Some(Endian::Little)));
        assert_eq!(kind("utf-16"), CharsetKind::Utf16(None));
        assert_eq!(kind("unicode"), CharsetKind::Utf16(None));
        assert_eq!(kind("utf-32be"), CharsetKind::Utf32(Some(Endian::Big)));
        assert_eq!(kind("ucs-4"), CharsetKind::Utf32(None));
        assert_eq!(kind("iso-10646-ucs-2"), CharsetKind::Utf16(None));
    }
}
