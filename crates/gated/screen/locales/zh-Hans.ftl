# 旅客屏幕和工作人员界面：简体中文。
#
# 每种语言一个文件，以其 BCP 47 标签命名（en.ftl、ja.ftl、zh-Hans.ftl……）。机构只需把文件放入
# `[screen] catalogues` 所指定的目录即可添加语言；文件中缺少的消息将以英文显示。闸机显示的所有消息
# 都在这里：消息中从不传入任何个人信息（不含姓名，不含证件号码），只传入次数和秒数。

## 语言本身的名称，按其读者的写法书写（显示在语言按钮上）。
language-name = 简体中文

## 提示：现在要求旅客做什么。
place-document = 请将护照照片页朝下，放在读取器上
reading-document = 正在读取护照。请勿移动
replace-document = 无法读取您的护照。请拿起护照，重新平放在读取器上
look-at-camera = 请看摄像头
place-left-index = 请将左手食指放在读取器上
place-right-index = 请将右手食指放在读取器上
try-again = 请再试一次
proceed = 请通过闸机
see-officer = 请在此等候。工作人员将前来协助您
proceed-to-booth = 谢谢。请前往审查柜台
out-of-service = 本闸机已关闭。请使用其他闸机或人工审查柜台
maintenance = 本闸机正在维护。请使用其他闸机
fire-release = 紧急情况：出口已开启。请保持冷静离开
face-photo = 即将拍照。请看摄像头

## 指引：上一次尝试为何未成功，以及如何解决。
hint-too-small = 请靠近摄像头一些
hint-turned = 请将脸转向摄像头
hint-tilted = 请保持头部端正，不要歪头
hint-pitched = 请勿抬头或低头
hint-blurred = 请保持不动
hint-too-dark = 请摘下帽子和墨镜，站到光线明亮处
hint-too-bright = 请避开强光
hint-no-face = 请站在摄像头前
hint-multiple-faces = 请一次一人。其他人请后退
hint-finger-quality = 请将手指平按在读取器中央
hint-no-finger = 请将手指放在读取器上
hint-chip-unreadable = 请将护照照片页朝下平放，并保持不动

## 进度与时间。
step-of = 第 { $step } 步，共 { $steps } 步
attempt-of = 第 { $attempt } 次，共 { $attempts } 次
officer-coming = 已呼叫工作人员

## BioCart 自助终端。
choose-language = 请选择语言
biocart-welcome = 欢迎来到日本。等候期间，请在此登记指纹和面部照片
notice-title = 个人信息使用说明
notice-body = 为办理您今天的入境审查，将采集您双手食指的指纹和一张面部照片。这些信息仅发送至审查柜台，本设备不保留任何副本
finger-left = 左手食指
finger-right = 右手食指
photo = 面部照片

## 工作人员界面。
officer-title = 工作人员界面
officer-id = 工作人员编号
officer-secret = 口令
officer-sign-in = 登录
officer-sign-out = 退出登录
officer-refused = 凭证未被接受
officer-called-because = 闸机呼叫工作人员的原因
officer-no-call = 当前没有待处理的呼叫
officer-when = 时间
officer-transaction = 事务
officer-door = 闸门
officer-door-locked = 已锁定
officer-door-unlocked = 已解锁
officer-devices = 设备
officer-state = 闸机状态
officer-in-service = 运行中
officer-out-of-service = 已停用
officer-clear = 清除呼叫并重置闸机
officer-take-out = 停用闸机
officer-put-back = 恢复闸机运行
officer-done = 完成
officer-signed-in-as = 已登录：{ $officer }

## 原因代码的通俗说明（工作人员界面）。键：reason-CODE。
reason-CHIP_READ_FAILED = 无法读取芯片（通信故障、证件被移开、芯片不受支持）
reason-CHIP_ACCESS_DENIED = 芯片访问控制（BAC/PACE）失败：MRZ/CAN 错误，或芯片拒绝访问
reason-CHIP_READ_TIMEOUT = 芯片未在策略规定的时间内响应
reason-DOCUMENT_MALFORMED = 无法解析证件数据（MRZ、DG1 或 DG2 格式错误）
reason-DOCUMENT_NOT_AUTHENTIC = 被动认证／主动认证（AA）／芯片认证（CA）失败或无法完成
reason-DOCUMENT_EXPIRED = 证件已于今天之前过期
reason-DOCUMENT_TYPE_NOT_ELIGIBLE = 此类证件不能使用本闸机
reason-NATIONALITY_NOT_ELIGIBLE = 此国籍不能使用本闸机
reason-UNDER_MINIMUM_AGE = 旅客未达到本闸机的最低使用年龄
reason-DENYLIST_HIT = 证件的密钥哈希在拒绝名单中（遗失、被盗、已注销）
reason-FACE_MISMATCH = 在允许的尝试次数内，现场人脸与芯片照片不匹配
reason-FACE_NOT_FOUND = 摄像头画面中未找到可用的人脸
reason-FACE_QUALITY_TOO_LOW = 检测到人脸，但均未达到质量下限
reason-MULTIPLE_FACES = 摄像头前有多人（可能有尾随）
reason-PRESENTATION_ATTACK = 呈现攻击（伪造）检测器的得分超过阈值
reason-FACE_CAPTURE_TIMEOUT = 人脸采集步骤超时
reason-REFERENCE_PHOTO_UNUSABLE = 芯片照片无法用作比对基准（无人脸、图像无法解码）
reason-NOT_ENROLLED = 证件持有人没有适用于本闸机的指纹登记记录
reason-FINGERPRINT_MISMATCH = 在允许的尝试次数内，现场指纹与登记模板不匹配
reason-FINGERPRINT_QUALITY_TOO_LOW = 在允许的尝试次数内，指纹图像始终未达到质量下限
reason-FINGER_NOT_PRESENTED = 未在规定时间内将手指放到传感器上
reason-FACE_PHOTO_QUALITY_TOO_LOW = 在允许的尝试次数内，BioCart 面部照片始终未达到质量下限
reason-HANDOVER_FAILED = 无法将 BioCart 记录移交至审查柜台
reason-PASSAGE_NOT_COMPLETED = 闸门已解锁，但旅客未在规定时间内通过
reason-TRANSACTION_TIMEOUT = 整个事务超过了时限
reason-TRAVELLER_CANCELLED = 旅客已取消或离开
reason-OFFICER_CANCELLED = 工作人员取消了该事务
reason-SHUTDOWN = 守护进程正在停止，事务被中断
reason-ABORTED_BY_RESTART = 事务进行期间守护进程意外终止（断电、被看门狗强制结束）；守护进程重新启动时关闭了该事务，并记录其已到达的阶段
reason-DEVICE_FAULT = 事务所需的某个设备在运行中发生故障
reason-CAMERA_UNAVAILABLE = 摄像头没有输出画面
reason-CHIP_READER_UNAVAILABLE = 芯片读取器不可用
reason-FINGERPRINT_READER_UNAVAILABLE = 指纹模块不可用
reason-DOOR_FAULT = 闸门或其传感器报告故障或被篡改
reason-OUTBOX_FULL = 发件箱（outbox）已达到磁盘高水位线：在事件发送完毕之前不接受新旅客
reason-OUTBOX_CORRUPT = 发件箱（outbox）数据库未通过完整性检查：闸机以安全模式运行
reason-LISTS_STALE = 下行同步的名单（拒绝名单、登记记录、信任锚）已超过允许的时效
reason-FIRE_ALARM = 火灾警报已使闸门解锁开放
reason-MAINTENANCE_MODE = 工作人员或技术人员已停用闸机
reason-TAILGATING = 第二人凭同一次授权通过了闸门
reason-UNAUTHORISED_PASSAGE = 有人未经授权通过了闸门
reason-FORCED_ENTRY = 闸门在锁定状态下被打开
reason-REVERSE_PASSAGE = 有人从出口一侧通过了闸门
reason-DOOR_HELD_OPEN = 闸门保持开启的时间超过允许值
reason-SOD_MALFORMED = EF.SOD 不是格式正确的 CMS SignedData / LDS 安全对象
reason-UNSUPPORTED_ALGORITHM = 闸机不支持的签名算法或哈希算法
reason-DS_CERTIFICATE_MISSING = EF.SOD 中不含证件签名者（DS）证书
reason-SOD_SIGNED_ATTRIBUTES_INVALID = SOD 的签名属性（content type、message digest）有误
reason-SOD_SIGNATURE_INVALID = 无法用证件签名者的密钥验证 SOD 签名
reason-DS_CERTIFICATE_NOT_YET_VALID = 证件签名者（DS）证书尚未生效
reason-DS_CERTIFICATE_EXPIRED = 证件签名者（DS）证书已过期
reason-DS_KEY_USAGE_INVALID = 证件签名者（DS）证书无权签署证件（密钥用途）
reason-DS_CERTIFICATE_INVALID = 证件签名者（DS）证书格式错误
reason-DS_CERTIFICATE_REVOKED = 证件签名者（DS）证书在其 CSCA 的吊销列表中
reason-CRL_UNAVAILABLE = 没有签发 CSCA 的有效吊销列表（CRL），而策略要求必须具备
reason-CSCA_UNKNOWN = 证件签名者（DS）证书并非由任何受信任的 CSCA 签发
reason-DS_CERTIFICATE_SIGNATURE_INVALID = 无法用 CSCA 密钥验证证件签名者（DS）证书的签名
reason-CSCA_CERTIFICATE_EXPIRED = 签发的 CSCA 证书已过期
reason-DG_NOT_IN_SOD = 从芯片读取的某个数据组在 SOD 中没有哈希值
reason-DG_HASH_MISMATCH = 某个数据组与其在 SOD 中的哈希值不符（芯片数据被篡改）
reason-DG1_MRZ_MISMATCH = 芯片的 DG1 与资料页上印刷的 MRZ 不一致
reason-ISSUING_STATE_MISMATCH = 签发国与签名证书的国家不一致
reason-CA_FAILED = 芯片认证（CA）失败（可能为克隆芯片）
reason-CA_KEY_INVALID = DG14 中的芯片认证密钥不可用
reason-CA_UNAVAILABLE = 要求进行芯片认证（CA），但芯片不支持
reason-AA_FAILED = 主动认证（AA）失败（可能为克隆芯片）
reason-AA_KEY_INVALID = DG15 中的密钥不可用
reason-AA_SIGNATURE_INVALID = 主动认证（AA）签名验证失败
reason-AA_UNAVAILABLE = 要求进行主动认证（AA），但芯片中没有 DG15
reason-DG_NOT_READ = 已签名的 EF.SOD 列出了 DG14 或 DG15，但芯片未提供（复制芯片隐藏其防克隆检查密钥）
