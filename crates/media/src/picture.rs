//! Deterministic pictures: the same prompt, size and variant always give the same PNG. They stand
//! in for a model's images when no provider is configured, so the whole workflow runs offline.
//! Each picture is a sky-to-ground gradient with bands and discs whose colours and places come from
//! a hash of the prompt — recognisably different per prompt, cheap to paint at 2560 pixels.

use sha2::{Digest, Sha256};

/// A PNG of `width` × `height` painted from `prompt`; `variant` tells images of one request apart.
pub fn render_png(prompt: &str, width: u32, height: u32, variant: u32) -> Vec<u8> {
    let seed = Seed::new(prompt, variant);
    let (w, h) = (width.max(1) as usize, height.max(1) as usize);
    let mut pixels = vec![0u8; w * h * 3];
    let top = seed.colour(0);
    let bottom = seed.colour(3);
    let discs: Vec<Disc> = (0..4).map(|i| Disc::from_seed(&seed, i, w, h)).collect();
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
    encode(&pixels, width.max(1), height.max(1))
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
}
