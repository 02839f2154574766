"""Drive the fingerprint module simulator with the outside host library pyfingerprint.

Usage: python3 fingerprint_pyfingerprint.py PORT PRELOADED_TEMPLATES

Expects the simulator's finger script: no finger, then finger A three times, then finger B.
Prints one `OK ...` line per step and `PASS` at the end; exits non-zero on any failure,
with 3 when pyfingerprint is not installed.
"""
import sys

try:
    from pyfingerprint.pyfingerprint import PyFingerprint
except ImportError as error:  # pragma: no cover - environment problem
    print(
        "MISSING pyfingerprint (%s): install it with `python3 -m pip install pyfingerprint`" % error,
        flush=True,
    )
    sys.exit(3)


def fail(message):
    print("FAIL " + message, flush=True)
    sys.exit(1)


def wait_for_finger(sensor, attempts=20):
    for _ in range(attempts):
        if sensor.readImage():
            return
    fail("no finger after %d readImage calls" % attempts)


def main():
    port = sys.argv[1]
    preloaded = int(sys.argv[2])
    sensor = PyFingerprint(port, 57600, 0xFFFFFFFF, 0x00000000)
    if not sensor.verifyPassword():
        fail("verifyPassword refused")
    print("OK verifyPassword", flush=True)
    if sensor.getStorageCapacity() != 1000:
        fail("capacity %d" % sensor.getStorageCapacity())
    if sensor.getMaxPacketSize() != 128:
        fail("packet size %d" % sensor.getMaxPacketSize())
    if sensor.getTemplateCount() != preloaded:
        fail("template count %d, expected %d" % (sensor.getTemplateCount(), preloaded))
    print("OK getSystemParameters/getTemplateCount", flush=True)

    # Enrol: two captures of finger A, combined and stored in the first free slot.
    if sensor.readImage():
        fail("a finger was reported before one was placed")
    wait_for_finger(sensor)
    sensor.convertImage(0x01)
    wait_for_finger(sensor)
    sensor.convertImage(0x02)
    if not sensor.createTemplate():
        fail("createTemplate: captures of the same finger did not combine")
    position = sensor.storeTemplate()
    if position != preloaded:
        fail("stored at %d, expected first free slot %d" % (position, preloaded))
    if sensor.getTemplateCount() != preloaded + 1:
        fail("template count after enrol %d" % sensor.getTemplateCount())
    print("OK enrol position=%d" % position, flush=True)

    # Search: finger A again is found at its position.
    wait_for_finger(sensor)
    sensor.convertImage(0x01)
    found, score = sensor.searchTemplate()
    if found != position or score <= 0:
        fail("search found %d (score %d), expected %d" % (found, score, position))
    print("OK search position=%d score=%d" % (found, score), flush=True)

    # 1:1 match: the stored template loaded into buffer 2 against the live capture in buffer 1.
    sensor.loadTemplate(position, 0x02)
    score = sensor.compareCharacteristics()
    if score <= 0:
        fail("compareCharacteristics returned %d for the same finger" % score)
    print("OK match score=%d" % score, flush=True)

    # Template transfer both ways (UpChar, then DownChar which pyfingerprint verifies by UpChar).
    characteristics = sensor.downloadCharacteristics(0x02)
    if len(characteristics) != 512:
        fail("template of %d bytes" % len(characteristics))
    if not sensor.uploadCharacteristics(0x01, characteristics):
        fail("uploadCharacteristics did not read back identically")
    print("OK template transfer", flush=True)

    # A different finger (B) is neither found nor matched.
    wait_for_finger(sensor)
    sensor.convertImage(0x01)
    found, score = sensor.searchTemplate()
    if found != -1:
        fail("finger B found at %d (score %d)" % (found, score))
    if sensor.compareCharacteristics() != 0:
        fail("finger B matched finger A's template")
    print("OK wrong finger rejected", flush=True)

    sensor.deleteTemplate(position)
    if sensor.getTemplateCount() != preloaded:
        fail("delete did not remove the template")
    print("OK delete", flush=True)
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
