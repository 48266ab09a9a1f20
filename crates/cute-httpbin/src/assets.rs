//! Fixed bodies: the HTML page, the favicon and the teapot.

/// The page served at `/`, `/index.html` and `/html` (347 bytes, ends with a newline).
pub(crate) const PAGE_HTML: &[u8] = include_bytes!("page.html");

/// httpbin's answer to `/status/418`.
pub(crate) const TEAPOT: &str = r#"
    -=[ teapot ]=-

       _...._
     .'  _ _ `.
    | ."` ^ `". _,
    \_;`"---"`|//
      |       ;/
      \_     _/
        `"""`
"#;

/// Side of the favicon, in pixels.
const ICON_SIDE: u32 = 16;

/// A valid 16x16, 32-bit (BGRA) ICO file: a pink disc on a transparent background.
pub(crate) fn favicon() -> Vec<u8> {
    let pixels = ICON_SIDE * ICON_SIDE * 4;
    // The 1-bit AND mask: one bit per pixel, each row padded to 32 bits.
    let mask = ICON_SIDE.div_ceil(32) * 4 * ICON_SIDE;
    let image = 40 + pixels + mask;
    let mut ico = Vec::with_capacity(6 + 16 + image as usize);
    // ICONDIR: reserved, type 1 (icon), one image.
    for v in [0u16, 1, 1] {
        ico.extend_from_slice(&v.to_le_bytes());
    }
    // ICONDIRENTRY: width, height, palette size, reserved, planes, bits per pixel, size, offset.
    ico.extend_from_slice(&[ICON_SIDE as u8, ICON_SIDE as u8, 0, 0]);
    ico.extend_from_slice(&1u16.to_le_bytes());
    ico.extend_from_slice(&32u16.to_le_bytes());
    ico.extend_from_slice(&image.to_le_bytes());
    ico.extend_from_slice(&22u32.to_le_bytes());
    // BITMAPINFOHEADER; the height counts the colour rows and the mask rows.
    ico.extend_from_slice(&40u32.to_le_bytes());
    ico.extend_from_slice(&(ICON_SIDE as i32).to_le_bytes());
    ico.extend_from_slice(&(2 * ICON_SIDE as i32).to_le_bytes());
    ico.extend_from_slice(&1u16.to_le_bytes());
    ico.extend_from_slice(&32u16.to_le_bytes());
    ico.extend_from_slice(&0u32.to_le_bytes()); // BI_RGB
    ico.extend_from_slice(&(pixels + mask).to_le_bytes());
    ico.extend_from_slice(&[0; 16]); // resolution and palette counts
    // Pixels, bottom-up, BGRA.
    let centre = (ICON_SIDE as f32 - 1.0) / 2.0;
    let radius = ICON_SIDE as f32 / 2.0 - 0.5;
    for y in (0..ICON_SIDE).rev() {
        for x in 0..ICON_SIDE {
            let (dx, dy) = (x as f32 - centre, y as f32 - centre);
            let inside = dx * dx + dy * dy <= radius * radius;
            ico.extend_from_slice(if inside { &[0xb4, 0x69, 0xff, 0xff] } else { &[0, 0, 0, 0] });
        }
    }
    ico.resize(ico.len() + mask as usize, 0);
    ico
}

#[cfg(test)]
mod tests {
    use super::{PAGE_HTML, favicon};

    #[test]
    fn the_page_is_the_expected_size() {
        assert_eq!(PAGE_HTML.len(), 347);
        assert_eq!(PAGE_HTML.last(), Some(&b'\n'));
    }

    #[test]
    fn the_favicon_is_a_well_formed_ico() {
        let ico = favicon();
        assert_eq!(&ico[..6], &[0, 0, 1, 0, 1, 0]);
        let size = u32::from_le_bytes(ico[14..18].try_into().unwrap()) as usize;
        let offset = u32::from_le_bytes(ico[18..22].try_into().unwrap()) as usize;
        assert_eq!(offset + size, ico.len());
        assert_eq!(ico.len(), 6 + 16 + 40 + 16 * 16 * 4 + 64);
    }
}
