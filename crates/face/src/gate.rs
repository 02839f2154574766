//! The face gate's 1:1 check: the document's chip photo against a burst of camera frames.
//!
//! Every frame is detected, aligned and quality-assessed (cheap); only the best acceptable frame
//! is embedded, compared and scored for presentation attacks. The outcome is either a decision
//! ([`GateOutcome::Match`], [`GateOutcome::NoMatch`], [`GateOutcome::AttackSuspected`]) or a
//! reason to capture again that the gate can tell the traveller ([`GateOutcome::NoFace`],
//! [`GateOutcome::MultipleFaces`], [`GateOutcome::FaceTooSmall`], [`GateOutcome::PoorQuality`]),
//! or [`GateOutcome::ReferenceNoFace`] when the chip photo itself shows no face.

use image::RgbImage;
use serde::Serialize;

use crate::engine::{AssessedFace, FaceEngine, FrameAssessment, Reference};
use crate::error::{FaceError, Result};
use crate::quality::{FaceQuality, QualityIssue, QualityShortfall};

/// What happened to one frame of the burst.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FrameStatus {
    /// No face was detected.
    NoFace,
    /// A second face close behind the chosen one (single-person rule).
    MultipleFaces {
        /// Quality of the chosen (largest, most central) face.
        quality: FaceQuality,
    },
    /// One face, assessed.
    Assessed {
        /// Its quality (`issues` empty = acceptable).
        quality: FaceQuality,
    },
}

/// The gate's answer for one traveller attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum GateOutcome {
    /// Same person as the chip photo, no attack suspected.
    Match {
        /// Normalised similarity.
        score: f32,
        /// Threshold in force.
        threshold: f32,
        /// Attack score of the chosen frame (None without an attack model).
        attack_score: Option<f32>,
    },
    /// A good frame of someone else than the chip photo shows.
    NoMatch {
        /// Normalised similarity.
        score: f32,
        /// Threshold in force.
        threshold: f32,
        /// Attack score of the chosen frame (None without an attack model).
        attack_score: Option<f32>,
    },
    /// The attack model flags the chosen frame (print or screen replay); never a match.
    AttackSuspected {
        /// Attack score.
        attack_score: f32,
        /// Attack threshold in force.
        attack_threshold: f32,
        /// Normalised similarity (for the audit trail only).
        score: f32,
    },
    /// No frame shows a face.
    NoFace,
    /// At least one frame shows a second face close behind the traveller's: fail-safe, no
    /// decision (one person at a time).
    MultipleFaces,
    /// Faces were seen, but only below the minimum inter-eye distance (step closer).
    FaceTooSmall {
        /// Largest inter-eye distance seen, pixels.
        inter_eye_px: f32,
        /// The minimum in force.
        min_inter_eye_px: f32,
    },
    /// Faces were seen, but none met the quality limits.
    PoorQuality {
        /// The unmet limits of the best frame.
        issues: Vec<QualityIssue>,
        /// The same with the measured values and the limits.
        shortfalls: Vec<QualityShortfall>,
    },
    /// The chip photo shows no face: the document cannot be used for the face check.
    ReferenceNoFace,
}

impl GateOutcome {
    /// True for the outcomes that are decisions (match, no match, attack).
    pub fn is_decision(&self) -> bool {
        matches!(
            self,
            Self::Match { .. } | Self::NoMatch { .. } | Self::AttackSuspected { .. }
        )
    }
}

/// Result of [`FaceEngine::verify_burst`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurstVerification {
    /// The answer.
    #[serde(flatten)]
    pub outcome: GateOutcome,
    /// Index of the frame the decision was made on.
    pub chosen_frame: Option<usize>,
    /// Quality of the chosen frame's face.
    pub chosen_quality: Option<FaceQuality>,
    /// Quality of the chip photo's face (None when it has none).
    pub reference_quality: Option<FaceQuality>,
    /// When no face was acceptable: the best face seen (what the traveller came closest with).
    pub best_refused_quality: Option<FaceQuality>,
    /// What happened to each frame, in order.
    pub frames: Vec<FrameStatus>,
}

impl FaceEngine {
    /// Chip photo bytes (JPEG, JP2 or J2K) against a burst of RGB camera frames: decodes the
    /// photo, makes the reference and calls [`FaceEngine::verify_burst_with_reference`].
    /// Errors: an undecodable photo, an empty burst, model failures.
    pub fn verify_burst(
        &self,
        chip_photo: &[u8],
        frames: &[RgbImage],
    ) -> Result<BurstVerification> {
        if frames.is_empty() {
            return Err(FaceError::Config("the burst holds no frames".into()));
        }
        match self.reference_from_chip_photo(chip_photo) {
            Ok(reference) => self.verify_burst_with_reference(&reference, frames),
            Err(FaceError::NoFace) => Ok(BurstVerification {
                outcome: GateOutcome::ReferenceNoFace,
                chosen_frame: None,
                chosen_quality: None,
                reference_quality: None,
                best_refused_quality: None,
                frames: Vec::new(),
            }),
            Err(other) => Err(other),
        }
    }

    /// A reference (made once per document) against a burst of frames: assesses every frame,
    /// picks the best acceptable one, then embeds, compares and scores only that frame.
    pub fn verify_burst_with_reference(
        &self,
        reference: &Reference,
        frames: &[RgbImage],
    ) -> Result<BurstVerification> {
        if frames.is_empty() {
            return Err(FaceError::Config("the burst holds no frames".into()));
        }
        let mut verifier = BurstVerifier::new(self, reference)?;
        for frame in frames {
            verifier.push(frame)?;
        }
        verifier.finish()
    }
}

/// A burst verified frame by frame as the camera delivers it: each frame is detected, aligned
/// and quality-assessed on arrival (so the work overlaps the capture), only the best acceptable
/// frame so far is kept, and [`BurstVerifier::finish`] embeds, compares and attack-scores that
/// one frame. Same answers as [`FaceEngine::verify_burst_with_reference`].
pub struct BurstVerifier<'a> {
    engine: &'a FaceEngine,
    reference: &'a Reference,
    match_threshold: f32,
    statuses: Vec<FrameStatus>,
    best: Option<(usize, RgbImage, AssessedFace)>,
}

impl<'a> BurstVerifier<'a> {
    /// Starts a burst; errors when the engine has no thresholds to decide with.
    pub fn new(engine: &'a FaceEngine, reference: &'a Reference) -> Result<Self> {
        let Some(match_threshold) = engine.match_threshold() else {
            return Err(FaceError::Config(
                "the embedder has no calibration and no match threshold was given: no decisions"
                    .into(),
            ));
        };
        if engine.models().attack.is_some() && engine.attack_threshold().is_none() {
            return Err(FaceError::Config(
                "the attack model has no calibration and no attack threshold was given".into(),
            ));
        }
        Ok(Self {
            engine,
            reference,
            match_threshold,
            statuses: Vec::new(),
            best: None,
        })
    }

    /// Assesses the next frame of the burst.
    pub fn push(&mut self, frame: &RgbImage) -> Result<()> {
        let assessment = self.engine.assess_frame(frame)?;
        self.statuses.push(frame_status(&assessment));
        if assessment.second_face.is_none()
            && let Some(face) = assessment.best
            && face.quality.acceptable()
            && self
                .best
                .as_ref()
                .is_none_or(|(_, _, best)| face.quality.score > best.quality.score)
        {
            self.best = Some((self.statuses.len() - 1, frame.clone(), face));
        }
        Ok(())
    }

    /// Frames assessed so far.
    pub fn frames(&self) -> usize {
        self.statuses.len()
    }

    /// The decision (or the reason to capture again) on the frames pushed.
    pub fn finish(self) -> Result<BurstVerification> {
        let engine = self.engine;
        let mut verification = BurstVerification {
            outcome: GateOutcome::NoFace,
            chosen_frame: None,
            chosen_quality: None,
            reference_quality: Some(self.reference.quality.clone()),
            best_refused_quality: None,
            frames: self.statuses,
        };
        if verification.frames.is_empty() {
            return Err(FaceError::Config("the burst holds no frames".into()));
        }
        let faces: Vec<&FaceQuality> = verification
            .frames
            .iter()
            .filter_map(|s| match s {
                FrameStatus::NoFace => None,
                FrameStatus::MultipleFaces { quality } | FrameStatus::Assessed { quality } => {
                    Some(quality)
                }
            })
            .collect();
        if faces.is_empty() {
            return Ok(verification);
        }
        if verification
            .frames
            .iter()
            .any(|s| matches!(s, FrameStatus::MultipleFaces { .. }))
        {
            verification.outcome = GateOutcome::MultipleFaces;
            return Ok(verification);
        }
        let limits = engine.quality_limits();
        let Some((chosen, frame, face)) = self.best else {
            let largest = faces.iter().map(|q| q.inter_eye_px).fold(0f32, f32::max);
            let (outcome, best_refused) = if faces
                .iter()
                .all(|q| q.issues.contains(&QualityIssue::TooSmall))
            {
                let closest = faces
                    .iter()
                    .max_by(|a, b| a.inter_eye_px.total_cmp(&b.inter_eye_px))
                    .map(|q| (*q).clone());
                (
                    GateOutcome::FaceTooSmall {
                        inter_eye_px: largest,
                        min_inter_eye_px: limits.min_inter_eye_px,
                    },
                    closest,
                )
            } else {
                let best = faces
                    .iter()
                    .filter(|q| !q.issues.contains(&QualityIssue::TooSmall))
                    .max_by(|a, b| a.score.total_cmp(&b.score));
                (
                    GateOutcome::PoorQuality {
                        shortfalls: best.map(|q| limits.shortfalls(q)).unwrap_or_default(),
                        issues: best.map(|q| q.issues.clone()).unwrap_or_default(),
                    },
                    best.map(|q| (*q).clone()),
                )
            };
            verification.outcome = outcome;
            verification.best_refused_quality = best_refused;
            return Ok(verification);
        };
        let analysed = engine.complete(&frame, &face)?;
        let result = engine.compare_embeddings(&self.reference.embedding, &analysed.embedding);
        verification.chosen_frame = Some(chosen);
        verification.chosen_quality = Some(analysed.quality.clone());
        verification.outcome = match (analysed.attack_score, engine.attack_threshold()) {
            (Some(attack_score), Some(attack_threshold)) if attack_score > attack_threshold => {
                GateOutcome::AttackSuspected {
                    attack_score,
                    attack_threshold,
                    score: result.score,
                }
            }
            (attack_score, _) if result.is_match => GateOutcome::Match {
                score: result.score,
                threshold: self.match_threshold,
                attack_score,
            },
            (attack_score, _) => GateOutcome::NoMatch {
                score: result.score,
                threshold: self.match_threshold,
                attack_score,
            },
        };
        Ok(verification)
    }
}

fn frame_status(assessment: &FrameAssessment) -> FrameStatus {
    match (&assessment.best, &assessment.second_face) {
        (None, _) => FrameStatus::NoFace,
        (Some(face), Some(_)) => FrameStatus::MultipleFaces {
            quality: face.quality.clone(),
        },
        (Some(face), None) => FrameStatus::Assessed {
            quality: face.quality.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_serialise_with_a_tag_and_only_decisions_are_decisions() {
        let outcome = GateOutcome::FaceTooSmall {
            inter_eye_px: 12.0,
            min_inter_eye_px: 25.0,
        };
        let text = toml::to_string(&BurstVerification {
            outcome: outcome.clone(),
            chosen_frame: None,
            chosen_quality: None,
            reference_quality: None,
            best_refused_quality: None,
            frames: vec![FrameStatus::NoFace],
        })
        .unwrap();
        assert!(text.contains("outcome = \"face_too_small\""), "{text}");
        assert!(!outcome.is_decision());
        assert!(
            GateOutcome::NoMatch {
                score: 0.1,
                threshold: 0.5,
                attack_score: None
            }
            .is_decision()
        );
        assert!(!GateOutcome::MultipleFaces.is_decision());
    }
}
