# 여행자 화면과 직원용 화면: 한국어.
#
# 언어마다 파일 하나이며, 파일 이름은 BCP 47 태그입니다(en.ftl, ja.ftl, zh-Hans.ftl, ...). 기관은
# `[screen] catalogues`로 지정한 디렉터리에 파일을 넣기만 하면 언어를 추가할 수 있습니다. 파일에 없는
# 메시지는 영어로 표시됩니다. 게이트가 표시하는 모든 메시지가 여기에 있습니다. 메시지에는 개인 정보가
# 절대 전달되지 않으며(이름도 여권 번호도 없음), 횟수와 초만 전달됩니다.

## 언어 자체의 이름. 그 언어를 읽는 사람이 쓰는 대로 씁니다(언어 버튼에 표시).
language-name = 한국어

## 안내: 지금 여행자에게 요청하는 동작.
place-document = 여권 사진면을 아래로 향하게 하여 판독기에 올려 주십시오
reading-document = 여권을 읽고 있습니다. 움직이지 마십시오
replace-document = 여권을 읽을 수 없습니다. 여권을 들어 판독기에 다시 평평하게 올려 주십시오
look-at-camera = 카메라를 봐 주십시오
place-left-index = 왼손 검지를 판독기에 올려 주십시오
place-right-index = 오른손 검지를 판독기에 올려 주십시오
try-again = 다시 시도해 주십시오
proceed = 게이트를 통과해 주십시오
see-officer = 이곳에서 기다려 주십시오. 직원이 도와드리러 갑니다
proceed-to-booth = 감사합니다. 심사대로 이동해 주십시오
out-of-service = 이 게이트는 현재 이용할 수 없습니다. 다른 게이트나 유인 심사대를 이용해 주십시오
maintenance = 이 게이트는 점검 중입니다. 다른 게이트를 이용해 주십시오
fire-release = 비상 상황: 출구가 열려 있습니다. 침착하게 대피해 주십시오
face-photo = 사진을 촬영합니다. 카메라를 봐 주십시오

## 도움말: 직전 시도가 실패한 이유와 해결 방법.
hint-too-small = 카메라에 조금 더 가까이 와 주십시오
hint-turned = 얼굴을 카메라 쪽으로 향해 주십시오
hint-tilted = 고개를 기울이지 말고 똑바로 해 주십시오
hint-pitched = 고개를 들거나 숙이지 마십시오
hint-blurred = 움직이지 마십시오
hint-too-dark = 모자와 선글라스를 벗고 밝은 곳으로 와 주십시오
hint-too-bright = 강한 빛을 피해 주십시오
hint-no-face = 카메라 앞에 서 주십시오
hint-multiple-faces = 한 분씩 이용해 주십시오. 다른 분은 뒤로 물러나 주십시오
hint-finger-quality = 손가락을 판독기 중앙에 평평하게 눌러 주십시오
hint-no-finger = 손가락을 판독기에 올려 주십시오
hint-chip-unreadable = 여권 사진면을 아래로 향하게 하여 평평하게 놓고 움직이지 마십시오

## 진행 상황과 시간.
step-of = { $steps }단계 중 { $step }단계
attempt-of = { $attempts }회 중 { $attempt }번째 시도
officer-coming = 직원을 호출했습니다

## BioCart 키오스크.
choose-language = 언어를 선택해 주십시오
biocart-welcome = 일본에 오신 것을 환영합니다. 기다리시는 동안 이곳에서 지문과 얼굴 사진을 등록해 주십시오
notice-title = 개인정보 이용 안내
notice-body = 오늘의 입국 심사를 위해 양손 검지 지문과 얼굴 사진 1장을 수집합니다. 이 정보는 심사대로만 전송되며, 이 키오스크에는 사본이 남지 않습니다
finger-left = 왼손 검지
finger-right = 오른손 검지
photo = 얼굴 사진

## 직원용 화면.
officer-title = 직원용 화면
officer-id = 직원 ID
officer-secret = 비밀번호
officer-sign-in = 로그인
officer-sign-out = 로그아웃
officer-refused = 인증 정보가 승인되지 않았습니다
officer-called-because = 게이트가 직원을 호출한 이유
officer-no-call = 처리 대기 중인 호출이 없습니다
officer-when = 일시
officer-transaction = 트랜잭션
officer-door = 문
officer-door-locked = 잠김
officer-door-unlocked = 열림
officer-devices = 장치
officer-state = 게이트 상태
officer-in-service = 운영 중
officer-out-of-service = 운영 중지
officer-clear = 호출을 해제하고 게이트 재설정
officer-take-out = 게이트 운영 중지
officer-put-back = 게이트 운영 재개
officer-done = 완료
officer-signed-in-as = { $officer }(으)로 로그인됨

## 이유 코드의 쉬운 설명(직원용 화면). 키: reason-CODE.
reason-CHIP_READ_FAILED = 칩을 읽을 수 없습니다(통신 오류, 여권 제거, 지원되지 않는 칩)
reason-CHIP_ACCESS_DENIED = 칩 접근 제어(BAC/PACE)에 실패했습니다: MRZ/CAN이 틀렸거나 칩이 접근을 거부합니다
reason-CHIP_READ_TIMEOUT = 칩이 정책에서 정한 시간 내에 응답하지 않았습니다
reason-DOCUMENT_MALFORMED = 여권 데이터를 해석할 수 없습니다(MRZ, DG1 또는 DG2 형식 오류)
reason-DOCUMENT_NOT_AUTHENTIC = 수동 인증/능동 인증(AA)/칩 인증(CA)에 실패했거나 완료할 수 없었습니다
reason-DOCUMENT_EXPIRED = 여권의 유효기간이 오늘 이전에 만료되었습니다
reason-DOCUMENT_TYPE_NOT_ELIGIBLE = 이 종류의 여권은 이 게이트를 이용할 수 없습니다
reason-NATIONALITY_NOT_ELIGIBLE = 이 국적은 이 게이트를 이용할 수 없습니다
reason-UNDER_MINIMUM_AGE = 여행자가 이 게이트의 최소 이용 연령 미만입니다
reason-DENYLIST_HIT = 여권의 키 해시(keyed hash)가 거부 목록에 있습니다(분실, 도난, 무효화)
reason-FACE_MISMATCH = 허용된 시도 횟수 내에 실시간 얼굴이 칩 사진과 일치하지 않았습니다
reason-FACE_NOT_FOUND = 카메라 영상에서 사용할 수 있는 얼굴을 찾지 못했습니다
reason-FACE_QUALITY_TOO_LOW = 얼굴은 감지되었으나 품질 기준을 충족한 얼굴이 없었습니다
reason-MULTIPLE_FACES = 카메라 앞에 두 명 이상이 있습니다(동반 통과 가능성)
reason-PRESENTATION_ATTACK = 프레젠테이션 공격(위장) 탐지기의 점수가 임계값을 초과했습니다
reason-FACE_CAPTURE_TIMEOUT = 얼굴 촬영 단계의 제한 시간이 초과되었습니다
reason-REFERENCE_PHOTO_UNUSABLE = 칩 사진을 비교 기준으로 사용할 수 없습니다(얼굴 없음, 이미지 디코딩 불가)
reason-NOT_ENROLLED = 여권 소지자에게 이 게이트용 지문 등록 정보가 없습니다
reason-FINGERPRINT_MISMATCH = 허용된 시도 횟수 내에 실시간 지문이 등록된 템플릿과 일치하지 않았습니다
reason-FINGERPRINT_QUALITY_TOO_LOW = 허용된 시도 횟수 내에 지문 이미지가 품질 기준에 미달했습니다
reason-FINGER_NOT_PRESENTED = 제한 시간 내에 센서에 손가락이 놓이지 않았습니다
reason-FACE_PHOTO_QUALITY_TOO_LOW = 허용된 시도 횟수 내에 BioCart 얼굴 사진이 품질 기준에 미달했습니다
reason-HANDOVER_FAILED = BioCart 기록을 심사대로 전달하지 못했습니다
reason-PASSAGE_NOT_COMPLETED = 문의 잠금이 해제되었으나 여행자가 제한 시간 내에 통과하지 않았습니다
reason-TRANSACTION_TIMEOUT = 전체 트랜잭션이 제한 시간을 초과했습니다
reason-TRAVELLER_CANCELLED = 여행자가 취소했거나 자리를 떠났습니다
reason-OFFICER_CANCELLED = 직원이 트랜잭션을 취소했습니다
reason-SHUTDOWN = 데몬이 종료 중이어서 트랜잭션이 중단되었습니다
reason-ABORTED_BY_RESTART = 트랜잭션 진행 중 데몬이 비정상 종료되었습니다(전원 차단, 워치독에 의한 강제 종료). 데몬이 다시 시작될 때 도달했던 단계와 함께 트랜잭션이 종료 처리되었습니다
reason-DEVICE_FAULT = 트랜잭션에 필요한 장치가 진행 중에 고장 났습니다
reason-CAMERA_UNAVAILABLE = 카메라에서 영상이 들어오지 않습니다
reason-CHIP_READER_UNAVAILABLE = 칩 리더를 사용할 수 없습니다
reason-FINGERPRINT_READER_UNAVAILABLE = 지문 모듈을 사용할 수 없습니다
reason-DOOR_FAULT = 문 또는 문 센서가 고장이나 조작(탬퍼)을 보고했습니다
reason-OUTBOX_FULL = 아웃박스가 디스크 상한선(high-water mark)에 도달했습니다: 이벤트 전송이 끝날 때까지 새 여행자를 받지 않습니다
reason-OUTBOX_CORRUPT = 아웃박스 데이터베이스가 무결성 검사에 실패했습니다: 게이트가 안전 모드로 동작합니다
reason-LISTS_STALE = 하향 동기화된 목록(거부 목록, 등록 정보, 신뢰 앵커)이 허용 기간보다 오래되었습니다
reason-FIRE_ALARM = 화재 경보로 문의 잠금이 해제되었습니다
reason-MAINTENANCE_MODE = 직원 또는 기술자가 게이트 운영을 중지했습니다
reason-TAILGATING = 한 번의 승인으로 두 번째 사람이 문을 통과했습니다
reason-UNAUTHORISED_PASSAGE = 누군가 승인 없이 문을 통과했습니다
reason-FORCED_ENTRY = 잠긴 상태에서 문이 열렸습니다
reason-REVERSE_PASSAGE = 누군가 출구 쪽에서 문을 통과해 들어왔습니다
reason-DOOR_HELD_OPEN = 문이 허용 시간보다 오래 열려 있었습니다
reason-SOD_MALFORMED = EF.SOD가 올바른 형식의 CMS SignedData / LDS 보안 객체가 아닙니다
reason-UNSUPPORTED_ALGORITHM = 게이트가 지원하지 않는 서명 또는 해시 알고리즘입니다
reason-DS_CERTIFICATE_MISSING = EF.SOD에 문서 서명자(DS) 인증서가 없습니다
reason-SOD_SIGNED_ATTRIBUTES_INVALID = SOD의 서명된 속성(content type, message digest)이 올바르지 않습니다
reason-SOD_SIGNATURE_INVALID = 문서 서명자의 키로 SOD 서명을 검증할 수 없습니다
reason-DS_CERTIFICATE_NOT_YET_VALID = 문서 서명자(DS) 인증서가 아직 유효 기간 전입니다
reason-DS_CERTIFICATE_EXPIRED = 문서 서명자(DS) 인증서가 만료되었습니다
reason-DS_KEY_USAGE_INVALID = 문서 서명자(DS) 인증서에 문서 서명 권한이 없습니다(키 용도)
reason-DS_CERTIFICATE_INVALID = 문서 서명자(DS) 인증서의 형식이 올바르지 않습니다
reason-DS_CERTIFICATE_REVOKED = 문서 서명자(DS) 인증서가 해당 CSCA의 폐기 목록에 있습니다
reason-CRL_UNAVAILABLE = 발급 CSCA의 유효한 인증서 폐기 목록(CRL)이 없으며, 정책상 필수입니다
reason-CSCA_UNKNOWN = 신뢰하는 CSCA 중 문서 서명자(DS) 인증서를 발급한 CSCA가 없습니다
reason-DS_CERTIFICATE_SIGNATURE_INVALID = CSCA 키로 문서 서명자(DS) 인증서의 서명을 검증할 수 없습니다
reason-CSCA_CERTIFICATE_EXPIRED = 발급 CSCA 인증서가 만료되었습니다
reason-DG_NOT_IN_SOD = 칩에서 읽은 데이터 그룹의 해시가 SOD에 없습니다
reason-DG_HASH_MISMATCH = 데이터 그룹이 SOD의 해시와 일치하지 않습니다(칩 데이터 변조)
reason-DG1_MRZ_MISMATCH = 칩의 DG1이 신원정보면에 인쇄된 MRZ와 다릅니다
reason-ISSUING_STATE_MISMATCH = 발급 국가가 서명 인증서의 국가와 다릅니다
reason-CA_FAILED = 칩 인증(CA)에 실패했습니다(복제 칩 가능성)
reason-CA_KEY_INVALID = DG14의 칩 인증 키를 사용할 수 없습니다
reason-CA_UNAVAILABLE = 칩 인증(CA)이 필수이지만 칩이 지원하지 않습니다
reason-AA_FAILED = 능동 인증(AA)에 실패했습니다(복제 칩 가능성)
reason-AA_KEY_INVALID = DG15의 키를 사용할 수 없습니다
reason-AA_SIGNATURE_INVALID = 능동 인증(AA) 서명을 검증할 수 없습니다
reason-AA_UNAVAILABLE = 능동 인증(AA)이 필수이지만 칩에 DG15가 없습니다
reason-DG_NOT_READ = 서명된 EF.SOD에 DG14 또는 DG15가 있으나 칩이 제공하지 않았습니다(복제 검사용 키를 숨기는 복제 칩)
