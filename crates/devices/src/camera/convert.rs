//! Wire format to RGB8 conversion: a hand-written YUYV (BT.601) converter and an MJPEG
//! decoder (zune-jpeg, which also fills in the default Huffman tables MJPEG frames omit).
//!
//! Measured on this project's 2-core x86_64 CI machine with
//! `cargo run --release -p devices --example convert_bench` (see the crate README).

use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

/// Largest frame side we accept from a camera (guards allocations against corrupt headers).
const MAX_SIDE: usize = 8192;

/// Why a frame could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The buffer holds fewer bytes than the format and size require.
    #[error("short buffer: {got} bytes, need {need}")]
    ShortBuffer {
        /// Bytes present.
        got: usize,
        /// Bytes required.
        need: usize,
    },
    /// Width, height or stride make no sense (zero, odd YUYV width, stride too small).
    #[error("bad geometry: {0}")]
    Geometry(String),
    /// The JPEG decoder rejected the frame.
    #[error("jpeg: {0}")]
    Jpeg(String),
}

/// Converts one YUYV 4:2:2 frame (BT.601 limited range, the UVC/V4L2 default) to packed RGB8.
///
/// `stride` is the length of a source row in bytes (V4L2 `bytesperline`, at least
/// `width * 2`). `out` is resized to `width * height * 3`.
pub fn yuyv_to_rgb(
    src: &[u8],
    width: usize,
    height: usize,
    stride: usize,
    out: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    if width == 0
        || height == 0
        || !width.is_multiple_of(2)
        || width > MAX_SIDE
        || height > MAX_SIDE
    {
        return Err(ConvertError::Geometry(format!(
            "{width}x{height} (width must be even)"
        )));
    }
    let row_bytes = width * 2;
    if stride < row_bytes {
        return Err(ConvertError::Geometry(format!(
            "stride {stride} < {row_bytes}"
        )));
    }
    let need = stride * (height - 1) + row_bytes;
    if src.len() < need {
        return Err(ConvertError::ShortBuffer {
            got: src.len(),
            need,
        });
    }
    out.resize(width * height * 3, 0);
    for (row, out_row) in out.chunks_exact_mut(width * 3).enumerate() {
        let start = row * stride;
        let src_row = &src[start..start + row_bytes];
        for (pair, rgb) in src_row.chunks_exact(4).zip(out_row.chunks_exact_mut(6)) {
            let &[y0, u, y1, v] = pair else { continue };
            let d = i32::from(u) - 128;
            let e = i32::from(v) - 128;
            let red = 409 * e + 128;
            let green = -100 * d - 208 * e + 128;
            let blue = 516 * d + 128;
            let c0 = 298 * (i32::from(y0) - 16);
            let c1 = 298 * (i32::from(y1) - 16);
            rgb.copy_from_slice(&[
                clamp_shift(c0 + red),
                clamp_shift(c0 + green),
                clamp_shift(c0 + blue),
                clamp_shift(c1 + red),
                clamp_shift(c1 + green),
                clamp_shift(c1 + blue),
            ]);
        }
    }
    Ok(())
}

#[inline(always)]
fn clamp_shift(value: i32) -> u8 {
    // The clamp makes the narrowing exact.
    (value >> 8).clamp(0, 255) as u8
}

/// Decodes one MJPEG frame (a JPEG image, Huffman tables optional) into packed RGB8 in `out`
/// and returns its `(width, height)`.
pub fn mjpeg_to_rgb(src: &[u8], out: &mut Vec<u8>) -> Result<(u32, u32), ConvertError> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(MAX_SIDE)
        .set_max_height(MAX_SIDE);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(src), options);
    decoder
        .decode_headers()
        .map_err(|error| ConvertError::Jpeg(error.to_string()))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| ConvertError::Jpeg("no frame header".to_owned()))?;
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| ConvertError::Jpeg("no output size".to_owned()))?;
    if size != width * height * 3 {
        return Err(ConvertError::Jpeg(format!(
            "decoder output {size} bytes is not RGB8 for {width}x{height}"
        )));
    }
    out.resize(size, 0);
    decoder
        .decode_into(out)
        .map_err(|error| ConvertError::Jpeg(error.to_string()))?;
    let width =
        u32::try_from(width).map_err(|_| ConvertError::Geometry(format!("width {width}")))?;
    let height =
        u32::try_from(height).map_err(|_| ConvertError::Geometry(format!("height {height}")))?;
    Ok((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yuyv_pixel_pair(y0: u8, y1: u8, u: u8, v: u8) -> [u8; 4] {
        [y0, u, y1, v]
    }

    #[test]
    fn yuyv_converts_reference_colours() {
        // BT.601 limited range: white, black, and the 75% colour-bar red/blue.
        let mut src = Vec::new();
        src.extend_from_slice(&yuyv_pixel_pair(235, 16, 128, 128)); // white, black
        src.extend_from_slice(&yuyv_pixel_pair(81, 81, 90, 240)); // pure red
        src.extend_from_slice(&yuyv_pixel_pair(41, 41, 240, 110)); // pure blue
        let mut out = Vec::new();
        yuyv_to_rgb(&src, 6, 1, 12, &mut out).unwrap();
        assert_eq!(&out[0..6], &[255, 255, 255, 0, 0, 0]);
        let near = |got: &[u8], want: [u8; 3]| {
            got.iter()
                .zip(want)
                .all(|(g, w)| (i32::from(*g) - i32::from(w)).abs() <= 2)
        };
        assert!(near(&out[6..9], [255, 0, 0]), "red: {:?}", &out[6..9]);
        assert!(near(&out[12..15], [0, 0, 255]), "blue: {:?}", &out[12..15]);
    }

    #[test]
    fn yuyv_honours_stride_and_rejects_bad_input() {
        // 2x2 frame with 4 bytes of padding per row: the padding must be skipped.
        let src = [235, 128, 235, 128, 9, 9, 9, 9, 16, 128, 16, 128, 9, 9, 9, 9];
        let mut out = Vec::new();
        yuyv_to_rgb(&src, 2, 2, 8, &mut out).unwrap();
        assert_eq!(out, vec![255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(
            yuyv_to_rgb(&src[..10], 2, 2, 8, &mut out),
            Err(ConvertError::ShortBuffer { got: 10, need: 12 })
        ));
        assert!(matches!(
            yuyv_to_rgb(&src, 3, 1, 8, &mut out),
            Err(ConvertError::Geometry(_))
        ));
        assert!(matches!(
            yuyv_to_rgb(&src, 2, 2, 3, &mut out),
            Err(ConvertError::Geometry(_))
        ));
    }

    #[test]
    fn mjpeg_decodes_an_encoded_frame_and_rejects_garbage() {
        let (width, height) = (64u32, 48u32);
        let pixels: Vec<u8> = (0..width * height)
            .flat_map(|index| {
                if index % width < width / 2 {
                    [200, 30, 30]
                } else {
                    [30, 30, 200]
                }
            })
            .collect();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode(&pixels, width, height, image::ExtendedColorType::Rgb8)
            .unwrap();
        let mut out = Vec::new();
        assert_eq!(mjpeg_to_rgb(&jpeg, &mut out).unwrap(), (width, height));
        assert_eq!(out.len(), pixels.len());
        // Left half reddish, right half bluish after lossy round trip.
        assert!(out[0] > 150 && out[2] < 80, "{:?}", &out[0..3]);
        let right = ((width - 1) * 3) as usize;
        assert!(
            out[right] < 80 && out[right + 2] > 150,
            "{:?}",
            &out[right..right + 3]
        );
        assert!(matches!(
            mjpeg_to_rgb(b"not a jpeg", &mut out),
            Err(ConvertError::Jpeg(_))
        ));
    }
}
