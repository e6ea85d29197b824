//! The implicit AI-content label of a picture: a text record in the file itself, where every
//! reader keeps it — a PNG `iTXt` chunk (UTF-8) right after the header, a JPEG comment (`COM`)
//! right after the start marker. The bytes of the picture are not touched.

/// `png` with an `iTXt` chunk `keyword` = `text` after its `IHDR`; `None` if it is not a PNG.
pub fn png_with_text(png: &[u8], keyword: &str, text: &str) -> Option<Vec<u8>> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !png.starts_with(SIGNATURE) || png.len() < 33 || &png[12..16] != b"IHDR" {
        return None;
    }
    let header_end = 8 + 4 + 4 + 13 + 4;
    let mut data = Vec::with_capacity(keyword.len() + text.len() + 5);
    data.extend_from_slice(keyword.as_bytes());
    // Keyword end, not compressed, compression method, no language tag, no translated keyword.
    data.extend_from_slice(&[0, 0, 0, 0, 0]);
    data.extend_from_slice(text.as_bytes());
    let mut chunk = Vec::with_capacity(data.len() + 12);
    chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(b"iTXt");
    crc.update(&data);
    chunk.extend_from_slice(b"iTXt");
    chunk.extend_from_slice(&data);
    chunk.extend_from_slice(&crc.finalize().to_be_bytes());
    let mut out = Vec::with_capacity(png.len() + chunk.len());
    out.extend_from_slice(&png[..header_end]);
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&png[header_end..]);
    Some(out)
}

/// `jpeg` with a comment segment holding `text` after its start marker; `None` if it is not a
/// JPEG or the text is too long for one segment.
pub fn jpeg_with_comment(jpeg: &[u8], text: &str) -> Option<Vec<u8>> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) || text.len() > 65_533 {
        return None;
    }
    let mut out = Vec::with_capacity(jpeg.len() + text.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((text.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&jpeg[2..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_keeps_its_picture_and_carries_the_text() {
        let png = crate::render_png("label me", 32, 24, 0);
        let stamped = png_with_text(&png, "AIGC", r#"{"Label":"1","ContentProducer":"CineGen"}"#).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&stamped));
        let mut reader = decoder.read_info().expect("still a valid PNG");
        let text = &reader.info().utf8_text;
        assert_eq!(text.len(), 1);
        assert_eq!(text[0].keyword, "AIGC");
        assert_eq!(text[0].get_text().unwrap(), r#"{"Label":"1","ContentProducer":"CineGen"}"#);
        let mut pixels = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut pixels).expect("the picture decodes");
        assert!(png_with_text(b"GIF89a", "k", "v").is_none());
    }

    #[test]
    fn a_jpeg_gets_a_comment_after_its_start() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02, 0xFF, 0xD9];
        let stamped = jpeg_with_comment(&jpeg, "AIGC").unwrap();
        assert_eq!(&stamped[..8], &[0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x06, b'A', b'I']);
        assert_eq!(&stamped[10..], &jpeg[2..]);
        assert!(jpeg_with_comment(b"\x89PNG", "x").is_none());
    }
}
