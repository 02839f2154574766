# The traveller's screen and the officer's view: English.
#
# One file per language, named by its BCP 47 tag (en.ftl, ja.ftl, zh-Hans.ftl, ...). An agency
# adds a language by dropping a file in the directory named by `[screen] catalogues`; a message
# missing from it falls back to English. Every message the gate shows is here: nothing personal
# is ever passed to a message (no name, no document number), only counts and seconds.

## The language itself, as its readers write it (shown on the language buttons).
language-name = English

## Prompts: what the traveller is asked to do now.
place-document = Please place your passport on the reader, photo page down
reading-document = Reading your passport. Please keep it still
replace-document = Your passport could not be read. Please lift it and place it flat on the reader again
look-at-camera = Please look at the camera
place-left-index = Please place your left index finger on the reader
place-right-index = Please place your right index finger on the reader
try-again = Please try again
proceed = Please proceed through the gate
see-officer = Please wait here. An officer is coming to help you
proceed-to-booth = Thank you. Please proceed to the inspection booth
out-of-service = This gate is closed. Please use another gate or a staffed booth
maintenance = This gate is being serviced. Please use another gate
fire-release = Emergency: the exit is open. Please leave calmly
face-photo = Please look at the camera for your photo

## Guidance: why the last attempt did not work and how to fix it.
hint-too-small = Please step closer to the camera
hint-turned = Please turn your face towards the camera
hint-tilted = Please hold your head straight
hint-pitched = Please keep your chin level
hint-blurred = Please hold still
hint-too-dark = Please remove hats and sunglasses and step into the light
hint-too-bright = Please step out of the bright light
hint-no-face = Please stand in front of the camera
hint-multiple-faces = One person at a time, please. Others please step back
hint-finger-quality = Please press your finger flat on the centre of the reader
hint-no-finger = Please place your finger on the reader
hint-chip-unreadable = Please place the passport flat, photo page down, and keep it still

## Progress and timing.
step-of = Step { $step } of { $steps }
attempt-of = Attempt { $attempt } of { $attempts }
officer-coming = An officer has been called

## The BioCart kiosk.
choose-language = Please choose your language
biocart-welcome = Welcome to Japan. While you wait, please give your fingerprints and face photo here
notice-title = How your information is used
notice-body = Your two index fingerprints and a face photo are taken for your immigration inspection today. They are sent only to the inspection booth, and this kiosk keeps no copy
finger-left = Left index finger
finger-right = Right index finger
photo = Face photo

## The officer's view.
officer-title = Officer view
officer-id = Officer ID
officer-secret = Secret
officer-sign-in = Sign in
officer-sign-out = Sign out
officer-refused = The credential was not accepted
officer-called-because = Why the gate called an officer
officer-no-call = No officer call is open
officer-when = When
officer-transaction = Transaction
officer-door = Door
officer-door-locked = Locked
officer-door-unlocked = Unlocked
officer-devices = Devices
officer-state = Gate state
officer-in-service = In service
officer-out-of-service = Out of service
officer-clear = Clear the call and reset the gate
officer-take-out = Take the gate out of service
officer-put-back = Put the gate back into service
officer-done = Done
officer-signed-in-as = Signed in as { $officer }

## Reason codes in plain words (the officer's view). Key: reason-CODE.
reason-CHIP_READ_FAILED = The chip could not be read (communication failure, card removed, unsupported chip)
reason-CHIP_ACCESS_DENIED = Chip access control (BAC/PACE) failed: wrong MRZ/CAN, or the chip refuses access
reason-CHIP_READ_TIMEOUT = The chip did not answer within the policy's time
reason-DOCUMENT_MALFORMED = The document's data could not be parsed (malformed MRZ, DG1 or DG2)
reason-DOCUMENT_NOT_AUTHENTIC = Passive, active or chip authentication failed or could not be completed
reason-DOCUMENT_EXPIRED = The document expired before today
reason-DOCUMENT_TYPE_NOT_ELIGIBLE = This document type may not use this gate
reason-NATIONALITY_NOT_ELIGIBLE = This nationality may not use this gate
reason-UNDER_MINIMUM_AGE = The traveller is younger than the gate's minimum age
reason-DENYLIST_HIT = The document's keyed hash is on the denylist (lost, stolen, revoked)
reason-FACE_MISMATCH = The live face did not match the chip photo within the allowed attempts
reason-FACE_NOT_FOUND = No usable face was found in the camera frames
reason-FACE_QUALITY_TOO_LOW = Faces were found but none met the quality floor
reason-MULTIPLE_FACES = More than one person in front of the camera (possible tailgating)
reason-PRESENTATION_ATTACK = The presentation-attack detector scored above its threshold
reason-FACE_CAPTURE_TIMEOUT = The face capture step ran out of time
reason-REFERENCE_PHOTO_UNUSABLE = The chip photo could not be used as a reference (no face, undecodable image)
reason-NOT_ENROLLED = The document holder has no fingerprint enrolment for this gate
reason-FINGERPRINT_MISMATCH = The live finger did not match the enrolled template within the allowed attempts
reason-FINGERPRINT_QUALITY_TOO_LOW = Finger images stayed below the quality floor within the allowed attempts
reason-FINGER_NOT_PRESENTED = No finger was placed on the sensor in time
reason-FACE_PHOTO_QUALITY_TOO_LOW = The BioCart face photo stayed below the quality floor within the allowed attempts
reason-HANDOVER_FAILED = The BioCart record could not be handed to the inspection booth
reason-PASSAGE_NOT_COMPLETED = The door was unlocked but the traveller did not pass in time
reason-TRANSACTION_TIMEOUT = The whole transaction exceeded its time limit
reason-TRAVELLER_CANCELLED = The traveller cancelled or walked away
reason-OFFICER_CANCELLED = An officer cancelled the transaction
reason-SHUTDOWN = The daemon was stopping; the transaction was cut short
reason-ABORTED_BY_RESTART = The daemon died (power loss, a watchdog kill) while the transaction ran; it was closed when the daemon started again, with the stage it had reached
reason-DEVICE_FAULT = A device the transaction needed failed while it ran
reason-CAMERA_UNAVAILABLE = The camera is not delivering frames
reason-CHIP_READER_UNAVAILABLE = The chip reader is not available
reason-FINGERPRINT_READER_UNAVAILABLE = The fingerprint module is not available
reason-DOOR_FAULT = The door or its sensors report a fault or tamper
reason-OUTBOX_FULL = The outbox reached its disk high-water mark: no new traveller until events drain
reason-OUTBOX_CORRUPT = The outbox database failed its integrity check: the gate runs in safe mode
reason-LISTS_STALE = Down-synced lists (denylist, enrolments, trust anchors) are older than allowed
reason-FIRE_ALARM = The fire alarm has unlocked the doors
reason-MAINTENANCE_MODE = An officer or technician put the gate out of service
reason-TAILGATING = A second person passed through the door on one authorisation
reason-UNAUTHORISED_PASSAGE = Someone passed through the door with no authorisation
reason-FORCED_ENTRY = The door was opened while it was locked
reason-REVERSE_PASSAGE = Someone came through the door from the exit side
reason-DOOR_HELD_OPEN = The door was held open longer than allowed
reason-SOD_MALFORMED = EF.SOD is not a well-formed CMS SignedData / LDS security object
reason-UNSUPPORTED_ALGORITHM = A signature or hash algorithm the gate does not support
reason-DS_CERTIFICATE_MISSING = EF.SOD carries no document signer certificate
reason-SOD_SIGNED_ATTRIBUTES_INVALID = The SOD's signed attributes (content type, message digest) are wrong
reason-SOD_SIGNATURE_INVALID = The SOD signature does not verify with the document signer's key
reason-DS_CERTIFICATE_NOT_YET_VALID = The document signer certificate is not valid yet
reason-DS_CERTIFICATE_EXPIRED = The document signer certificate has expired
reason-DS_KEY_USAGE_INVALID = The document signer certificate may not sign documents
reason-DS_CERTIFICATE_INVALID = The document signer certificate is malformed
reason-DS_CERTIFICATE_REVOKED = The document signer certificate is on its CSCA's revocation list
reason-CRL_UNAVAILABLE = No valid revocation list of the issuing CSCA is available and the policy requires one
reason-CSCA_UNKNOWN = No trusted CSCA issued the document signer certificate
reason-DS_CERTIFICATE_SIGNATURE_INVALID = The document signer certificate's signature does not verify with the CSCA key
reason-CSCA_CERTIFICATE_EXPIRED = The issuing CSCA certificate has expired
reason-DG_NOT_IN_SOD = A data group read from the chip has no hash in the SOD
reason-DG_HASH_MISMATCH = A data group does not match its hash in the SOD (possibly tampered chip data)
reason-DG1_MRZ_MISMATCH = The chip's DG1 differs from the MRZ printed on the data page
reason-ISSUING_STATE_MISMATCH = The issuing state differs from the signing certificates' country
reason-CA_FAILED = Chip Authentication failed (possible cloned chip)
reason-CA_KEY_INVALID = The DG14 chip key is unusable
reason-CA_UNAVAILABLE = Chip Authentication is required and the chip does not offer it
reason-AA_FAILED = Active Authentication failed (possible cloned chip)
reason-AA_KEY_INVALID = The DG15 key is unusable
reason-AA_SIGNATURE_INVALID = The Active Authentication signature does not verify
reason-AA_UNAVAILABLE = Active Authentication is required and the chip has no DG15
reason-DG_NOT_READ = The signed EF.SOD lists DG14 or DG15 but the chip did not give it (a copied chip hiding its clone-check keys)
