//! Face detection, alignment, embedding, quality and presentation-attack scoring on ONNX Runtime.
