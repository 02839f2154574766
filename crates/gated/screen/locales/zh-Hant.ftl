# 旅客畫面與工作人員畫面：繁體中文。
#
# 每種語言一個檔案，以其 BCP 47 標籤命名（en.ftl、ja.ftl、zh-Hans.ftl……）。機關只需把檔案放入
# `[screen] catalogues` 所指定的目錄即可新增語言；檔案中缺少的訊息會以英文顯示。閘門顯示的所有訊息
# 都在這裡：訊息中從不傳入任何個人資料（不含姓名，不含證件號碼），只傳入次數與秒數。

## 語言本身的名稱，依其讀者的寫法書寫（顯示在語言按鈕上）。
language-name = 繁體中文

## 提示：現在要求旅客做什麼。
place-document = 請將護照照片頁朝下，放在讀取器上
reading-document = 正在讀取護照。請勿移動
replace-document = 無法讀取您的護照。請拿起護照，重新平放在讀取器上
look-at-camera = 請看鏡頭
place-left-index = 請將左手食指放在讀取器上
place-right-index = 請將右手食指放在讀取器上
try-again = 請再試一次
proceed = 請通過閘門
see-officer = 請在此等候。工作人員將前來協助您
proceed-to-booth = 謝謝。請前往審查櫃檯
out-of-service = 本閘門已關閉。請使用其他閘門或人工審查櫃檯
maintenance = 本閘門正在維修。請使用其他閘門
fire-release = 緊急狀況：出口已開啟。請保持冷靜離開
face-photo = 即將拍照。請看鏡頭

## 指引：上一次嘗試為何未成功，以及如何解決。
hint-too-small = 請靠近鏡頭一些
hint-turned = 請將臉轉向鏡頭
hint-tilted = 請保持頭部端正，不要歪頭
hint-pitched = 請勿抬頭或低頭
hint-blurred = 請保持不動
hint-too-dark = 請脫下帽子及太陽眼鏡，站到光線明亮處
hint-too-bright = 請避開強光
hint-no-face = 請站在鏡頭前
hint-multiple-faces = 請一次一人。其他人請後退
hint-finger-quality = 請將手指平壓在讀取器中央
hint-no-finger = 請將手指放在讀取器上
hint-chip-unreadable = 請將護照照片頁朝下平放，並保持不動

## 進度與時間。
step-of = 第 { $step } 步，共 { $steps } 步
attempt-of = 第 { $attempt } 次，共 { $attempts } 次
officer-coming = 已呼叫工作人員

## BioCart 自助機。
choose-language = 請選擇語言
biocart-welcome = 歡迎來到日本。等候期間，請在此登錄指紋及臉部照片
notice-title = 個人資料使用說明
notice-body = 為辦理您今天的入境審查，將擷取您雙手食指的指紋及一張臉部照片。這些資料只會傳送至審查櫃檯，本機不會保留任何副本
finger-left = 左手食指
finger-right = 右手食指
photo = 臉部照片

## 工作人員畫面。
officer-title = 工作人員畫面
officer-id = 工作人員編號
officer-secret = 通行碼
officer-sign-in = 登入
officer-sign-out = 登出
officer-refused = 憑證未獲接受
officer-called-because = 閘門呼叫工作人員的原因
officer-no-call = 目前沒有待處理的呼叫
officer-when = 時間
officer-transaction = 作業
officer-door = 門
officer-door-locked = 已上鎖
officer-door-unlocked = 已解鎖
officer-devices = 裝置
officer-state = 閘門狀態
officer-in-service = 運作中
officer-out-of-service = 已停用
officer-clear = 清除呼叫並重設閘門
officer-take-out = 停用閘門
officer-put-back = 恢復閘門運作
officer-done = 完成
officer-signed-in-as = 已登入：{ $officer }

## 原因代碼的白話說明（工作人員畫面）。鍵：reason-CODE。
reason-CHIP_READ_FAILED = 無法讀取晶片（通訊故障、證件被移開、不支援的晶片）
reason-CHIP_ACCESS_DENIED = 晶片存取控制（BAC/PACE）失敗：MRZ/CAN 錯誤，或晶片拒絕存取
reason-CHIP_READ_TIMEOUT = 晶片未在政策規定的時間內回應
reason-DOCUMENT_MALFORMED = 無法解析證件資料（MRZ、DG1 或 DG2 格式錯誤）
reason-DOCUMENT_NOT_AUTHENTIC = 被動驗證／主動驗證（AA）／晶片驗證（CA）失敗或無法完成
reason-DOCUMENT_EXPIRED = 證件已於今天之前過期
reason-DOCUMENT_TYPE_NOT_ELIGIBLE = 此類證件不得使用本閘門
reason-NATIONALITY_NOT_ELIGIBLE = 此國籍不得使用本閘門
reason-UNDER_MINIMUM_AGE = 旅客未達本閘門的最低使用年齡
reason-DENYLIST_HIT = 證件的金鑰雜湊值在拒絕名單上（遺失、失竊、已註銷）
reason-FACE_MISMATCH = 在允許的嘗試次數內，現場臉部影像與晶片照片不相符
reason-FACE_NOT_FOUND = 鏡頭畫面中找不到可用的臉部
reason-FACE_QUALITY_TOO_LOW = 偵測到臉部，但皆未達品質下限
reason-MULTIPLE_FACES = 鏡頭前有多人（可能有尾隨）
reason-PRESENTATION_ATTACK = 呈現攻擊（偽冒）偵測器的分數超過門檻值
reason-FACE_CAPTURE_TIMEOUT = 臉部擷取步驟逾時
reason-REFERENCE_PHOTO_UNUSABLE = 晶片照片無法作為比對基準（無臉部、影像無法解碼）
reason-NOT_ENROLLED = 證件持有人沒有適用於本閘門的指紋登錄紀錄
reason-FINGERPRINT_MISMATCH = 在允許的嘗試次數內，現場指紋與登錄範本不相符
reason-FINGERPRINT_QUALITY_TOO_LOW = 在允許的嘗試次數內，指紋影像始終未達品質下限
reason-FINGER_NOT_PRESENTED = 未在時限內將手指放上感測器
reason-FACE_PHOTO_QUALITY_TOO_LOW = 在允許的嘗試次數內，BioCart 臉部照片始終未達品質下限
reason-HANDOVER_FAILED = 無法將 BioCart 紀錄移交至審查櫃檯
reason-PASSAGE_NOT_COMPLETED = 門已解鎖，但旅客未在時限內通過
reason-TRANSACTION_TIMEOUT = 整個作業超過時限
reason-TRAVELLER_CANCELLED = 旅客已取消或離開
reason-OFFICER_CANCELLED = 工作人員取消了此作業
reason-SHUTDOWN = 常駐程式正在停止，作業被中斷
reason-ABORTED_BY_RESTART = 作業執行期間常駐程式意外終止（斷電、遭看門狗強制結束）；常駐程式重新啟動時已結束此作業，並記錄其已到達的階段
reason-DEVICE_FAULT = 作業所需的某個裝置在執行期間故障
reason-CAMERA_UNAVAILABLE = 攝影機未輸出畫面
reason-CHIP_READER_UNAVAILABLE = 晶片讀取器無法使用
reason-FINGERPRINT_READER_UNAVAILABLE = 指紋模組無法使用
reason-DOOR_FAULT = 門或其感測器回報故障或遭竄改
reason-OUTBOX_FULL = 寄件匣（outbox）已達磁碟高水位：事件傳送完畢前不受理新旅客
reason-OUTBOX_CORRUPT = 寄件匣（outbox）資料庫未通過完整性檢查：閘門以安全模式運作
reason-LISTS_STALE = 下行同步的清單（拒絕名單、登錄資料、信任錨）已超過允許的期限
reason-FIRE_ALARM = 火災警報已使門解鎖開放
reason-MAINTENANCE_MODE = 工作人員或技術人員已停用閘門
reason-TAILGATING = 第二人憑同一次授權通過了門
reason-UNAUTHORISED_PASSAGE = 有人未經授權通過了門
reason-FORCED_ENTRY = 門在上鎖狀態下被打開
reason-REVERSE_PASSAGE = 有人從出口側通過了門
reason-DOOR_HELD_OPEN = 門保持開啟的時間超過允許值
reason-SOD_MALFORMED = EF.SOD 不是格式正確的 CMS SignedData / LDS 安全物件
reason-UNSUPPORTED_ALGORITHM = 閘門不支援的簽章或雜湊演算法
reason-DS_CERTIFICATE_MISSING = EF.SOD 未包含證件簽署者（DS）憑證
reason-SOD_SIGNED_ATTRIBUTES_INVALID = SOD 的已簽署屬性（content type、message digest）有誤
reason-SOD_SIGNATURE_INVALID = 無法以證件簽署者的金鑰驗證 SOD 簽章
reason-DS_CERTIFICATE_NOT_YET_VALID = 證件簽署者（DS）憑證尚未生效
reason-DS_CERTIFICATE_EXPIRED = 證件簽署者（DS）憑證已過期
reason-DS_KEY_USAGE_INVALID = 證件簽署者（DS）憑證無權簽署證件（金鑰用途）
reason-DS_CERTIFICATE_INVALID = 證件簽署者（DS）憑證格式錯誤
reason-DS_CERTIFICATE_REVOKED = 證件簽署者（DS）憑證在其 CSCA 的憑證廢止清冊中
reason-CRL_UNAVAILABLE = 沒有簽發 CSCA 的有效憑證廢止清冊（CRL），而政策要求必須具備
reason-CSCA_UNKNOWN = 證件簽署者（DS）憑證並非由任何受信任的 CSCA 簽發
reason-DS_CERTIFICATE_SIGNATURE_INVALID = 無法以 CSCA 金鑰驗證證件簽署者（DS）憑證的簽章
reason-CSCA_CERTIFICATE_EXPIRED = 簽發的 CSCA 憑證已過期
reason-DG_NOT_IN_SOD = 從晶片讀取的某個資料群組在 SOD 中沒有雜湊值
reason-DG_HASH_MISMATCH = 某個資料群組與其在 SOD 中的雜湊值不符（晶片資料遭竄改）
reason-DG1_MRZ_MISMATCH = 晶片的 DG1 與資料頁上印製的 MRZ 不一致
reason-ISSUING_STATE_MISMATCH = 簽發國與簽署憑證的國家不一致
reason-CA_FAILED = 晶片驗證（CA）失敗（可能為複製晶片）
reason-CA_KEY_INVALID = DG14 中的晶片驗證金鑰無法使用
reason-CA_UNAVAILABLE = 要求進行晶片驗證（CA），但晶片不支援
reason-AA_FAILED = 主動驗證（AA）失敗（可能為複製晶片）
reason-AA_KEY_INVALID = DG15 中的金鑰無法使用
reason-AA_SIGNATURE_INVALID = 主動驗證（AA）簽章驗證失敗
reason-AA_UNAVAILABLE = 要求進行主動驗證（AA），但晶片中沒有 DG15
reason-DG_NOT_READ = 已簽署的 EF.SOD 列出 DG14 或 DG15，但晶片未提供（複製晶片隱藏其防複製檢查金鑰）
