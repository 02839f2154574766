# 旅行者用画面と係員用画面：日本語。
#
# 言語ごとに 1 ファイルで、ファイル名は BCP 47 タグ（en.ftl、ja.ftl、zh-Hans.ftl など）。機関は
# `[screen] catalogues` で指定したディレクトリにファイルを置くだけで言語を追加できる。ファイルにない
# メッセージは英語で表示される。ゲートが表示するメッセージはすべてここにある。メッセージに個人情報が
# 渡されることはなく（氏名も旅券番号も渡さない）、渡されるのは回数と秒数だけである。

## 言語そのものの名称。その言語の読み手が書くとおりに書く（言語ボタンに表示）。
language-name = 日本語

## 案内：旅行者にいま求める操作。
place-document = パスポートの顔写真ページを下にして、読取部に置いてください
reading-document = パスポートを読み取っています。動かさないでください
replace-document = パスポートを読み取れませんでした。一度持ち上げて、読取部に平らに置き直してください
look-at-camera = カメラを見てください
place-left-index = 左手の人差し指を読取部に置いてください
place-right-index = 右手の人差し指を読取部に置いてください
try-again = もう一度お試しください
proceed = ゲートをお進みください
see-officer = この場でお待ちください。係員が参ります
proceed-to-booth = ありがとうございました。審査ブースへお進みください
out-of-service = このゲートは閉鎖中です。他のゲートまたは審査ブースをご利用ください
maintenance = このゲートは点検中です。他のゲートをご利用ください
fire-release = 緊急事態：出口を開放しています。落ち着いて避難してください
face-photo = 写真を撮影します。カメラを見てください

## ガイダンス：直前の試行がうまくいかなかった理由と、その直し方。
hint-too-small = もう少しカメラに近づいてください
hint-turned = 顔をカメラに向けてください
hint-tilted = 頭を傾けず、まっすぐにしてください
hint-pitched = あごを上げたり引いたりしないでください
hint-blurred = 動かないでください
hint-too-dark = 帽子とサングラスを外し、明るい所に立ってください
hint-too-bright = 強い光の当たらない所に移動してください
hint-no-face = カメラの前に立ってください
hint-multiple-faces = お一人ずつご利用ください。他の方は後ろにお下がりください
hint-finger-quality = 指を読取部の中央に平らに押し当ててください
hint-no-finger = 指を読取部に置いてください
hint-chip-unreadable = パスポートの顔写真ページを下にして平らに置き、動かさないでください

## 進行状況と時間。
step-of = ステップ { $step } / { $steps }
attempt-of = { $attempts } 回中 { $attempt } 回目
officer-coming = 係員を呼び出しました

## バイオカート。
choose-language = 言語を選択してください
biocart-welcome = ようこそ日本へ。お待ちの間に、こちらで指紋と顔写真を登録してください
notice-title = 個人情報の取扱いについて
notice-body = 本日の入国審査のため、両手の人差し指の指紋と顔写真を取得します。これらは審査ブースにのみ送信され、この端末には保存されません
finger-left = 左手の人差し指
finger-right = 右手の人差し指
photo = 顔写真

## 係員用画面。
officer-title = 係員用画面
officer-id = 係員ID
officer-secret = パスワード
officer-sign-in = ログイン
officer-sign-out = ログアウト
officer-refused = 認証情報が受け付けられませんでした
officer-called-because = ゲートが係員を呼び出した理由
officer-no-call = 対応待ちの呼び出しはありません
officer-when = 日時
officer-transaction = トランザクション
officer-door = 扉
officer-door-locked = 施錠
officer-door-unlocked = 解錠
officer-devices = 機器
officer-state = ゲートの状態
officer-in-service = 運用中
officer-out-of-service = 運用停止中
officer-clear = 呼び出しを解除してゲートをリセット
officer-take-out = ゲートの運用を停止
officer-put-back = ゲートの運用を再開
officer-done = 完了
officer-signed-in-as = { $officer } としてログイン中

## 理由コードの平易な説明（係員用画面）。キー：reason-CODE。
reason-CHIP_READ_FAILED = ICチップを読み取れませんでした（通信障害、旅券の取り外し、非対応のチップ）
reason-CHIP_ACCESS_DENIED = チップのアクセス制御（BAC/PACE）に失敗しました：MRZ/CAN の誤り、またはチップがアクセスを拒否しています
reason-CHIP_READ_TIMEOUT = チップがポリシーで定めた時間内に応答しませんでした
reason-DOCUMENT_MALFORMED = 旅券のデータを解析できませんでした（MRZ、DG1 または DG2 の形式不正）
reason-DOCUMENT_NOT_AUTHENTIC = パッシブ認証／アクティブ認証（AA）／チップ認証（CA）に失敗したか、完了できませんでした
reason-DOCUMENT_EXPIRED = 旅券の有効期限が本日より前に満了しています
reason-DOCUMENT_TYPE_NOT_ELIGIBLE = この種別の旅券ではこのゲートを利用できません
reason-NATIONALITY_NOT_ELIGIBLE = この国籍ではこのゲートを利用できません
reason-UNDER_MINIMUM_AGE = 旅行者がこのゲートの利用可能最低年齢に達していません
reason-DENYLIST_HIT = 旅券の鍵付きハッシュが拒否リストに該当しました（紛失、盗難、失効）
reason-FACE_MISMATCH = 許容試行回数内に、撮影した顔がチップの顔写真と一致しませんでした
reason-FACE_NOT_FOUND = カメラ映像から使用可能な顔が検出されませんでした
reason-FACE_QUALITY_TOO_LOW = 顔は検出されましたが、品質基準を満たすものはありませんでした
reason-MULTIPLE_FACES = カメラの前に複数の人物がいます（共連れの可能性）
reason-PRESENTATION_ATTACK = プレゼンテーション攻撃（なりすまし）検知器のスコアがしきい値を超えました
reason-FACE_CAPTURE_TIMEOUT = 顔撮影ステップが時間切れになりました
reason-REFERENCE_PHOTO_UNUSABLE = チップの顔写真を照合の基準として使用できませんでした（顔なし、画像をデコードできない）
reason-NOT_ENROLLED = 旅券の所持人には、このゲート用の指紋登録がありません
reason-FINGERPRINT_MISMATCH = 許容試行回数内に、読み取った指紋が登録済みテンプレートと一致しませんでした
reason-FINGERPRINT_QUALITY_TOO_LOW = 許容試行回数内に、指紋画像が品質基準に達しませんでした
reason-FINGER_NOT_PRESENTED = 時間内にセンサーに指が置かれませんでした
reason-FACE_PHOTO_QUALITY_TOO_LOW = 許容試行回数内に、バイオカートの顔写真が品質基準に達しませんでした
reason-HANDOVER_FAILED = バイオカートの記録を審査ブースに引き渡せませんでした
reason-PASSAGE_NOT_COMPLETED = 扉は解錠されましたが、旅行者が時間内に通過しませんでした
reason-TRANSACTION_TIMEOUT = トランザクション全体が制限時間を超えました
reason-TRAVELLER_CANCELLED = 旅行者が取り消したか、立ち去りました
reason-OFFICER_CANCELLED = 係員がトランザクションを取り消しました
reason-SHUTDOWN = デーモンの停止処理中だったため、トランザクションが中断されました
reason-ABORTED_BY_RESTART = トランザクションの実行中にデーモンが停止しました（電源断、ウォッチドッグによる強制終了）。デーモンの再起動時に、到達していた段階とともに終了処理されました
reason-DEVICE_FAULT = トランザクションに必要な機器が実行中に故障しました
reason-CAMERA_UNAVAILABLE = カメラから映像が届いていません
reason-CHIP_READER_UNAVAILABLE = ICチップリーダーを利用できません
reason-FINGERPRINT_READER_UNAVAILABLE = 指紋モジュールを利用できません
reason-DOOR_FAULT = 扉またはそのセンサーが故障または不正操作（タンパー）を報告しています
reason-OUTBOX_FULL = 送信キュー（outbox）がディスク使用量の上限に達しました：イベントの送信が進むまで新しい旅行者を受け付けません
reason-OUTBOX_CORRUPT = 送信キュー（outbox）のデータベースが整合性チェックに失敗しました：ゲートはセーフモードで動作しています
reason-LISTS_STALE = 同期で受信したリスト（拒否リスト、登録情報、トラストアンカー）が許容期間より古くなっています
reason-FIRE_ALARM = 火災報知器により扉が開放されました
reason-MAINTENANCE_MODE = 係員または技術者がゲートの運用を停止しました
reason-TAILGATING = 1 回の通過許可で 2 人目が扉を通過しました
reason-UNAUTHORISED_PASSAGE = 通過許可なしに扉を通過した人がいます
reason-FORCED_ENTRY = 施錠中に扉が開けられました
reason-REVERSE_PASSAGE = 出口側から扉を通過した人がいます
reason-DOOR_HELD_OPEN = 扉が許容時間を超えて開いたままになっていました
reason-SOD_MALFORMED = EF.SOD が正しい形式の CMS SignedData / LDS セキュリティオブジェクトではありません
reason-UNSUPPORTED_ALGORITHM = ゲートが対応していない署名アルゴリズムまたはハッシュアルゴリズムです
reason-DS_CERTIFICATE_MISSING = EF.SOD に文書署名者（DS）証明書が含まれていません
reason-SOD_SIGNED_ATTRIBUTES_INVALID = SOD の署名属性（content type、message digest）が正しくありません
reason-SOD_SIGNATURE_INVALID = SOD の署名を文書署名者の鍵で検証できません
reason-DS_CERTIFICATE_NOT_YET_VALID = 文書署名者（DS）証明書がまだ有効期間に入っていません
reason-DS_CERTIFICATE_EXPIRED = 文書署名者（DS）証明書の有効期限が切れています
reason-DS_KEY_USAGE_INVALID = 文書署名者（DS）証明書には旅券への署名が許可されていません（鍵用途）
reason-DS_CERTIFICATE_INVALID = 文書署名者（DS）証明書の形式が不正です
reason-DS_CERTIFICATE_REVOKED = 文書署名者（DS）証明書が発行元 CSCA の失効リストに載っています
reason-CRL_UNAVAILABLE = 発行元 CSCA の有効な失効リスト（CRL）がありません。ポリシーでは必須です
reason-CSCA_UNKNOWN = 文書署名者（DS）証明書の発行元が信頼済みの CSCA ではありません
reason-DS_CERTIFICATE_SIGNATURE_INVALID = 文書署名者（DS）証明書の署名を CSCA の鍵で検証できません
reason-CSCA_CERTIFICATE_EXPIRED = 発行元 CSCA 証明書の有効期限が切れています
reason-DG_NOT_IN_SOD = チップから読み取ったデータグループのハッシュが SOD にありません
reason-DG_HASH_MISMATCH = データグループが SOD 内のハッシュと一致しません（チップデータの改ざん）
reason-DG1_MRZ_MISMATCH = チップの DG1 が身分事項ページに印字された MRZ と異なります
reason-ISSUING_STATE_MISMATCH = 発行国が署名証明書の国と異なります
reason-CA_FAILED = チップ認証（CA）に失敗しました（複製チップの可能性）
reason-CA_KEY_INVALID = DG14 のチップ認証鍵を使用できません
reason-CA_UNAVAILABLE = チップ認証（CA）が必須ですが、チップが対応していません
reason-AA_FAILED = アクティブ認証（AA）に失敗しました（複製チップの可能性）
reason-AA_KEY_INVALID = DG15 の鍵を使用できません
reason-AA_SIGNATURE_INVALID = アクティブ認証（AA）の署名を検証できません
reason-AA_UNAVAILABLE = アクティブ認証（AA）が必須ですが、チップに DG15 がありません
reason-DG_NOT_READ = 署名済みの EF.SOD に DG14 または DG15 が記載されていますが、チップから取得できませんでした（複製検知用の鍵を隠している複製チップ）
