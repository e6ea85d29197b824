//! Deterministic pictures: the same prompt, size and variant always give the same PNG. They stand
//! in for a model's images when no provider is configured, so the whole workflow runs offline.
//! Each picture is a sky-to-ground gradient with bands and discs whose colours and places come from
//! a hash of the prompt — recognisably different per prompt, cheap to paint at 2560 pixels.

use sha2::{Digest, Sha256};

/// A PNG of `width` × `height` painted from `prompt`; `variant` tells images of one request apart.
pub fn render_png(prompt: &str, width: u32, height: u32, variant: u32) -> Vec<u8> {
    let (w, h) = (width.max(1) as usize, height.max(1) as usize);
    encode(&paint(&Seed::new(prompt, variant), w, h), width.max(1), height.max(1))
}

/// Columns and rows of a storyboard grid of `panels` (1–9): as square as it goes, filled row by
/// row. Clips cut a grid picture into its panels by the same layout.
pub fn grid_layout(panels: u32) -> (u32, u32) {
    let n = panels.clamp(1, 9);
    let cols = (n as f64).sqrt().ceil() as u32;
    (cols, n.div_ceil(cols))
}

/// Width of the dark line between panels, in pixels.
const GUTTER: usize = 4;

/// A storyboard grid of `panels` pictures in one PNG of `width` × `height`, laid out by
/// [`grid_layout`]; each panel is painted from the prompt and its place, and cells past the last
/// panel stay dark. One panel is the same as [`render_png`].
pub fn render_grid_png(prompt: &str, width: u32, height: u32, variant: u32, panels: u32) -> Vec<u8> {
    let panels = panels.clamp(1, 9);
    if panels == 1 {
        return render_png(prompt, width, height, variant);
    }
    let (w, h) = (width.max(1) as usize, height.max(1) as usize);
    let (cols, rows) = grid_layout(panels);
    let (cols, rows) = (cols as usize, rows as usize);
    let mut pixels = vec![16u8; w * h * 3];
    for i in 0..panels as usize {
        let (col, row) = (i % cols, i / cols);
        let (x0, x1) = (col * w / cols, (col + 1) * w / cols);
        let (y0, y1) = (row * h / rows, (row + 1) * h / rows);
        // Half a gutter inside each edge, so panels are divided by a full one.
        let inset =
            |from: usize, to: usize| (from + GUTTER / 2, to.saturating_sub(GUTTER / 2).max(from + GUTTER / 2 + 1));
        let ((x0, x1), (y0, y1)) = (inset(x0, x1), inset(y0, y1));
        let (pw, ph) = (x1.min(w) - x0.min(w), y1.min(h) - y0.min(h));
        if pw == 0 || ph == 0 {
            continue;
        }
        let panel = paint(&Seed::new(prompt, variant * 16 + i as u32 + 1), pw, ph);
        for y in 0..ph {
            let from = &panel[y * pw * 3..(y + 1) * pw * 3];
            let at = ((y0 + y) * w + x0) * 3;
            pixels[at..at + pw * 3].copy_from_slice(from);
        }
    }
    encode(&pixels, width.max(1), height.max(1))
}

/// RGB pixels of one picture painted from `seed`.
fn paint(seed: &Seed, w: usize, h: usize) -> Vec<u8> {
    let mut pixels = vec![0u8; w * h * 3];
    let top = seed.colour(0);
    let bottom = seed.colour(3);
    let discs: Vec<Disc> = (0..4).map(|i| Disc::from_seed(seed, i, w, h)).collect();
    let horizon = h * (40 + seed.byte(20) as usize % 30) / 100;
    let ground = seed.colour(6);
    for (y, row) in pixels.chunks_exact_mut(w * 3).enumerate() {
        let base = if y < horizon { mix(top, bottom, y as u32 * 255 / horizon.max(1) as u32) } else { ground };
        for px in row.chunks_exact_mut(3) {
            px.copy_from_slice(&base);
        }
        for disc in &discs {
            disc.paint_row(row, y, w);
        }
    }
    pixels
}

fn encode(pixels: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels.len() / 20);
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        // Flat colour areas compress well even at the fastest setting.
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().expect("a PNG header into memory");
        writer.write_image_data(pixels).expect("PNG data into memory");
    }
    out
}

struct Seed([u8; 32]);

impl Seed {
    fn new(prompt: &str, variant: u32) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(prompt.as_bytes());
        hasher.update(variant.to_le_bytes());
        Self(hasher.finalize().into())
    }

    fn byte(&self, i: usize) -> u8 {
        self.0[i % 32]
    }

    fn colour(&self, i: usize) -> [u8; 3] {
        [self.byte(i), self.byte(i + 1), self.byte(i + 2)]
    }
}

fn mix(a: [u8; 3], b: [u8; 3], t: u32) -> [u8; 3] {
    let m = |x: u8, y: u8| ((x as u32 * (255 - t) + y as u32 * t) / 255) as u8;
    [m(a[0], b[0]), m(a[1], b[1]), m(a[2], b[2])]
}

struct Disc {
    cx: i64,
    cy: i64,
    r: i64,
    colour: [u8; 3],
}

impl Disc {
    fn from_seed(seed: &Seed, i: usize, w: usize, h: usize) -> Self {
        let at = 8 + i * 5;
        let short = w.min(h) as i64;
        Self {
            cx: w as i64 * seed.byte(at) as i64 / 255,
            cy: h as i64 * seed.byte(at + 1) as i64 / 255,
            r: short * (8 + seed.byte(at + 2) as i64 % 20) / 100,
            colour: seed.colour(at + 2),
        }
    }

    fn paint_row(&self, row: &mut [u8], y: usize, w: usize) {
        let dy = y as i64 - self.cy;
        if dy.abs() >= self.r {
            return;
        }
        let half = ((self.r * self.r - dy * dy) as f64).sqrt() as i64;
        let from = (self.cx - half).clamp(0, w as i64) as usize;
        let to = (self.cx + half).clamp(0, w as i64) as usize;
        for px in row[from * 3..to * 3].chunks_exact_mut(3) {
            px.copy_from_slice(&self.colour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size_of(png: &[u8]) -> (u32, u32) {
        let decoder = png::Decoder::new(png);
        let reader = decoder.read_info().unwrap();
        (reader.info().width, reader.info().height)
    }

    #[test]
    fn the_same_prompt_paints_the_same_picture() {
        let a = render_png("少女在月下", 64, 96, 0);
        assert_eq!(a, render_png("少女在月下", 64, 96, 0));
        assert_ne!(a, render_png("少女在月下", 64, 96, 1));
        assert_ne!(a, render_png("a girl under the moon", 64, 96, 0));
    }

    #[test]
    fn pictures_have_the_asked_size() {
        assert_eq!(size_of(&render_png("x", 1440, 2560, 0)), (1440, 2560));
        assert_eq!(size_of(&render_png("x", 2560, 1440, 3)), (2560, 1440));
        assert!(render_png("x", 8, 8, 0).starts_with(b"\x89PNG\r\n\x1a\n"));
    }

    fn pixels_of(png: &[u8]) -> (Vec<u8>, usize) {
        let mut reader = png::Decoder::new(png).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        (buf, info.width as usize)
    }

    #[test]
    fn grids_are_as_square_as_they_go() {
        let layouts: Vec<_> = (1..=9).map(grid_layout).collect();
        assert_eq!(layouts, [(1, 1), (2, 1), (2, 2), (2, 2), (3, 2), (3, 2), (3, 3), (3, 3), (3, 3)]);
        assert_eq!(grid_layout(0), (1, 1));
        assert_eq!(grid_layout(12), (3, 3));
    }

    #[test]
    fn a_grid_has_as_many_panels_as_asked() {
        // Count the panels along the middle of each row of cells: runs of picture between dark
        // gutters (and the dark cells past the last panel).
        for panels in 1..=9u32 {
            let png = render_grid_png("雨夜街头", 180, 320, 0, panels);
            assert_eq!(size_of(&png), (180, 320));
            let (pixels, w) = pixels_of(&png);
            let h = pixels.len() / 3 / w;
            let (cols, rows) = grid_layout(panels);
            let mut found = 0;
            for row in 0..rows as usize {
                let y = (row * h / rows as usize + (row + 1) * h / rows as usize) / 2;
                for col in 0..cols as usize {
                    let x = (col * w / cols as usize + (col + 1) * w / cols as usize) / 2;
                    let at = (y * w + x) * 3;
                    if pixels[at..at + 3] != [16, 16, 16] {
                        found += 1;
                    }
                }
            }
            assert_eq!(found, panels, "{panels} panels");
            if panels > 1 {
                // A gutter divides the first two panels.
                let x = w / cols as usize;
                let at = ((h / rows as usize / 2) * w + x) * 3;
                assert_eq!(pixels[at..at + 3], [16, 16, 16], "a gutter after the first panel of {panels}");
            }
        }
        assert_eq!(render_grid_png("x", 64, 64, 0, 1), render_png("x", 64, 64, 0));
        assert_ne!(render_grid_png("x", 64, 64, 0, 4), render_grid_png("x", 64, 64, 1, 4));
    }
}
