## Intake: câu hỏi, lựa chọn, lỗi, lời khuyên, mức độ nghiêm trọng.
## Quy ước id (xem bot/intake/__init__.py):
##   q-<câu hỏi>               nội dung câu hỏi
##   label-<câu hỏi>           nhãn ngắn trong bản tóm tắt và thẻ vụ việc
##   choice-<câu hỏi>-<khóa>   nhãn nút bấm; choice-yesno-*, choice-when-* dùng chung
##   role-*, type-*            vai trò người báo cáo, loại sự việc
## Nhãn nút bấm cần ngắn. Không dùng ký tự HTML đặc biệt.

## Vai trò và loại sự việc

q-role = Anh/Chị là ai trong cộng đồng nhà trường?
label-role = Người báo cáo
role-parent = Phụ huynh
role-staff = Giáo viên, nhân viên
role-student = Học sinh
role-other = Khác

q-type =
    Anh/Chị muốn báo cáo sự việc gì?
    • Tài khoản bị chiếm: trang web, fanpage, nhóm Zalo của trường, email hoặc tài khoản cá nhân bị người khác chiếm quyền.
    • Lừa đảo, mạo danh: có người giả danh nhà trường, thầy cô, người thân hoặc cơ quan chức năng để đòi tiền, mã OTP hoặc thông tin.
    • Nội dung xấu: tin sai sự thật, xúc phạm, bôi nhọ, nội dung đồi trụy hoặc kích động.
    • Lộ thông tin: danh sách, hình ảnh của học sinh hoặc giáo viên bị đăng tải khi chưa được đồng ý.
    • Bắt nạt, dụ dỗ: học sinh bị bắt nạt, dụ dỗ, đe dọa hoặc tống tiền trên mạng.
label-type = Loại sự việc
type-hacked = Tài khoản bị chiếm
type-scam = Lừa đảo, mạo danh
type-harmful = Nội dung xấu
type-data-leak = Lộ thông tin
type-bullying = Bắt nạt, dụ dỗ
type-other = Sự việc khác

## Câu hỏi chung

q-platform = Sự việc xảy ra trên nền tảng nào?
q-scam-platform = Kẻ gian liên hệ với Anh/Chị qua kênh nào?
q-hacked-platform = Tài khoản bị chiếm thuộc nền tảng nào?
label-platform = Nền tảng
choice-platform-facebook = Facebook
choice-platform-zalo = Zalo
choice-platform-tiktok = TikTok
choice-platform-instagram = Instagram
choice-platform-youtube = YouTube
choice-platform-website = Trang web
choice-platform-sms = Tin nhắn SMS
choice-platform-phone-call = Cuộc gọi
choice-platform-other = Khác

q-links = Anh/Chị vui lòng gửi đường link của bài viết, trang hoặc tài khoản liên quan. Có thể gửi nhiều link, mỗi link một dòng.
label-links = Đường link

q-when = Sự việc xảy ra khi nào? Anh/Chị hãy chọn bên dưới hoặc nhập ngày, ví dụ: 15/03/2025.
q-scam-when = Kẻ gian liên hệ với Anh/Chị khi nào? Anh/Chị hãy chọn bên dưới hoặc nhập ngày, ví dụ: 15/03/2025.
q-hacked-when = Anh/Chị phát hiện tài khoản bị chiếm khi nào? Anh/Chị hãy chọn bên dưới hoặc nhập ngày, ví dụ: 15/03/2025.
label-when = Thời điểm
choice-when-today = Hôm nay
choice-when-yesterday = Hôm qua
choice-when-this-week = Trong tuần này
choice-when-earlier = Trước đó

q-affected = Ai bị ảnh hưởng trong sự việc này?
q-leak-affected = Thông tin bị lộ là của ai?
label-affected = Người bị ảnh hưởng
choice-affected-school = Nhà trường
choice-affected-staff = Giáo viên, nhân viên
choice-affected-student = Học sinh
choice-affected-parent = Phụ huynh
choice-affected-other = Người khác

q-class = Học sinh đó học lớp nào? Ví dụ: 6A, 10A1.
label-class = Lớp

q-details = Anh/Chị có muốn mô tả thêm về sự việc không? Vui lòng viết ngắn gọn, không quá 1000 ký tự.
q-other-details = Anh/Chị vui lòng mô tả ngắn gọn sự việc, không quá 1000 ký tự.
label-details = Mô tả thêm

choice-yesno-yes = Có
choice-yesno-no = Không
choice-yesno-unknown = Không rõ
choice-yesno-partly = Một phần

## Lừa đảo, mạo danh

q-pretended = Kẻ gian đã giả danh ai?
label-pretended = Giả danh
choice-pretended-school = Nhà trường
choice-pretended-teacher = Giáo viên
choice-pretended-relative = Người thân
choice-pretended-official = Công an, cơ quan nhà nước
choice-pretended-bank = Ngân hàng
choice-pretended-other = Người khác

q-asked-for = Kẻ gian đã yêu cầu Anh/Chị điều gì? Anh/Chị có thể chọn nhiều mục, sau đó bấm “Xong”.
label-asked-for = Kẻ gian yêu cầu
choice-asked-for-money = Chuyển tiền
choice-asked-for-otp = Mã OTP
choice-asked-for-personal-data = Thông tin cá nhân
choice-asked-for-other = Điều khác

q-phones = Kẻ gian đã dùng số điện thoại nào? Nếu có nhiều số, vui lòng cách nhau bằng dấu phẩy.
label-phones = Số điện thoại của kẻ gian

q-bank-account = Kẻ gian yêu cầu chuyển tiền vào số tài khoản nào, ở ngân hàng nào? Ví dụ: 0123456789 Vietcombank.
label-bank-account = Tài khoản nhận tiền

q-profile = Anh/Chị vui lòng gửi đường link đến trang cá nhân hoặc tài khoản của kẻ gian, ví dụ trên Facebook, Zalo, TikTok.
label-profile = Tài khoản của kẻ gian

q-money-sent = Anh/Chị có chuyển tiền cho kẻ gian không?
label-money-sent = Đã chuyển tiền

q-amount = Anh/Chị đã chuyển bao nhiêu tiền? Ví dụ: 5 triệu, 500k hoặc 5.000.000đ.
label-amount = Số tiền đã chuyển

q-money-when = Anh/Chị chuyển tiền khi nào? Anh/Chị hãy chọn bên dưới hoặc nhập ngày, ví dụ: 15/03/2025.
label-money-when = Thời điểm chuyển tiền

## Tài khoản bị chiếm

q-account = Tài khoản hoặc trang nào bị chiếm?
label-account = Tài khoản bị chiếm
choice-account-school-website = Trang web của trường
choice-account-school-fanpage = Fanpage của trường
choice-account-zalo-group-oa = Nhóm Zalo, Zalo OA
choice-account-email = Hộp thư email
choice-account-staff-personal = Tài khoản giáo viên
choice-account-student-personal = Tài khoản học sinh
choice-account-other = Khác

q-access = Chủ tài khoản còn đăng nhập được không?
label-access = Còn đăng nhập được

q-attacker-doing = Kẻ chiếm tài khoản đang làm gì? Ví dụ: đăng bài lạ, nhắn tin vay tiền, đổi tên trang.
label-attacker-doing = Hành vi của kẻ chiếm tài khoản

## Nội dung xấu

q-target = Nội dung này nhắm vào ai?
label-target = Đối tượng bị nhắm đến
choice-target-school = Nhà trường
choice-target-staff = Giáo viên, nhân viên
choice-target-student = Học sinh
choice-target-other = Người khác

q-spread = Nội dung này đã lan truyền đến mức nào?
label-spread = Mức độ lan truyền
choice-spread-few = Ít người thấy
choice-spread-many = Nhiều người chia sẻ
choice-spread-viral = Lan truyền rất rộng

q-still-online = Nội dung này hiện còn trên mạng không?
label-still-online = Còn trên mạng

## Lộ thông tin cá nhân

q-leak-where = Thông tin bị đăng ở đâu? Anh/Chị có thể gửi đường link hoặc mô tả, ví dụ: nhóm Zalo phụ huynh lớp 6A.
label-leak-where = Nơi đăng tải

q-data-kinds = Những thông tin nào bị lộ? Anh/Chị có thể chọn nhiều mục, sau đó bấm “Xong”.
label-data-kinds = Thông tin bị lộ
choice-data-kinds-names = Họ tên
choice-data-kinds-birth-dates = Ngày sinh
choice-data-kinds-phones = Số điện thoại
choice-data-kinds-addresses = Địa chỉ
choice-data-kinds-grades = Điểm số
choice-data-kinds-photos = Hình ảnh
choice-data-kinds-other = Khác

q-people-count = Khoảng bao nhiêu người bị lộ thông tin? Vui lòng nhập một con số, ví dụ: 40.
label-people-count = Số người bị lộ thông tin

## Bắt nạt, dụ dỗ, đe dọa

q-danger = Có em học sinh nào đang gặp nguy hiểm ngay lúc này không?
label-danger = Đang gặp nguy hiểm

q-victim = Người bị bắt nạt hoặc bị đe dọa là ai? Anh/Chị có thể bỏ qua nếu không muốn nêu tên.
label-victim = Người bị hại

q-is-student = Người đó có phải là học sinh của trường không?
label-is-student = Học sinh của trường

q-intimate = Sự việc có liên quan đến hình ảnh hoặc video nhạy cảm không?
label-intimate = Hình ảnh nhạy cảm

q-threats = Có lời đe dọa, tống tiền hoặc ép buộc làm theo yêu cầu không?
label-threats = Đe dọa, tống tiền

## Loại dấu hiệu nhận diện (số điện thoại, tài khoản, đường link)


indicator-phone = Số điện thoại
indicator-bank-account = Tài khoản ngân hàng
indicator-url = Đường link
indicator-domain = Tên miền
indicator-profile = Tài khoản mạng xã hội

## Lỗi khi kiểm tra câu trả lời

err-empty = Anh/Chị chưa nhập câu trả lời. Vui lòng nhập lại.
err-required = Câu hỏi này cần có câu trả lời để nhà trường xử lý. Vui lòng trả lời.
err-choice = Câu trả lời chưa khớp với lựa chọn nào. Vui lòng bấm một nút bên dưới.
err-choice-item = Chưa hiểu lựa chọn “{ $item }”. Vui lòng bấm các nút bên dưới.
err-phone = Số điện thoại “{ $value }” chưa đúng. Vui lòng kiểm tra lại, ví dụ: 0912 345 678.
err-url = Chưa nhận ra đường link. Vui lòng gửi link đầy đủ, ví dụ: facebook.com/tentaikhoan.
err-amount = Chưa hiểu số tiền. Vui lòng nhập lại, ví dụ: 5 triệu, 500k hoặc 5.000.000đ.
err-date = Chưa hiểu ngày này. Vui lòng nhập theo dạng ngày/tháng/năm, ví dụ: 15/03/2025.
err-date-future = Ngày này nằm trong tương lai. Vui lòng kiểm tra lại.
err-too-long = Câu trả lời dài { $length } ký tự, vượt quá giới hạn { $max } ký tự. Vui lòng rút gọn.
err-number = Vui lòng nhập một con số từ { $min } đến { $max }.
err-class = Chưa hiểu tên lớp. Vui lòng nhập lại, ví dụ: 6A hoặc 10A1.
err-bank-account = Chưa thấy số tài khoản. Vui lòng nhập số tài khoản và tên ngân hàng, ví dụ: 0123456789 Vietcombank.
err-too-many = Vui lòng gửi tối đa { $max } mục trong một lần.

## Lời khuyên an toàn

advice-scam = Không chuyển tiền, không cung cấp mã OTP. Hãy gọi số điện thoại chính thức của nhà trường để xác minh. Nếu đã chuyển tiền, hãy gọi ngay cho ngân hàng để yêu cầu phong tỏa giao dịch.
advice-scam-bank = Hãy gọi ngay tổng đài của ngân hàng để yêu cầu phong tỏa giao dịch, sau đó trình báo cơ quan Công an gần nhất. Giữ lại biên lai chuyển khoản và tin nhắn.
advice-scam-otp = Nếu đã cung cấp mã OTP hoặc mật khẩu, hãy đổi mật khẩu ngay và báo cho ngân hàng để khóa tài khoản.
advice-hacked = Hãy đổi mật khẩu email và tài khoản, bật xác thực hai lớp, đăng xuất khỏi các thiết bị lạ. Không bấm vào đường link lạ.
advice-hacked-recover = Nếu không còn đăng nhập được, hãy dùng chức năng khôi phục tài khoản của nền tảng. Với Facebook, truy cập facebook.com/hacked. Hãy báo cho người quen không tin các tin nhắn từ tài khoản này.
advice-hacked-official = Hãy thông báo trên các kênh chính thức khác của nhà trường rằng trang này đang bị chiếm, để phụ huynh không tin nội dung hay yêu cầu chuyển tiền từ trang đó.
advice-harmful = Không chia sẻ, không bình luận để tránh lan truyền. Hãy chụp màn hình, lưu đường link làm bằng chứng và dùng chức năng báo cáo của nền tảng.
advice-data-leak = Không chia sẻ tiếp danh sách hay hình ảnh. Hãy chụp màn hình, lưu đường link và đề nghị người đăng gỡ bỏ. Cảnh giác với cuộc gọi, tin nhắn lạ dùng thông tin bị lộ.
advice-bullying = Hãy giữ bình tĩnh, không đáp trả. Lưu lại tin nhắn, hình ảnh làm bằng chứng và kể ngay với người lớn tin cậy như cha mẹ, thầy cô. Tổng đài 111 hỗ trợ trẻ em miễn phí, 24/7.
advice-danger = Nếu có trẻ em đang gặp nguy hiểm, hãy gọi ngay 113 (Công an) hoặc 111 (Tổng đài bảo vệ trẻ em, miễn phí, 24/7).
advice-intimate = Không gửi thêm hình ảnh, không chuyển tiền theo yêu cầu. Không xóa tin nhắn vì đó là bằng chứng. Phát tán hình ảnh nhạy cảm của trẻ em là vi phạm pháp luật; nhà trường và Công an sẽ hỗ trợ.
advice-threats = Không gặp mặt và không làm theo yêu cầu của người đe dọa. Hãy lưu lại tin nhắn và báo ngay cho cha mẹ, thầy cô hoặc Công an.
advice-other = Hãy lưu lại bằng chứng như ảnh chụp màn hình, đường link, tin nhắn. Nhà trường sẽ xem xét và liên hệ với Anh/Chị.

## Mức độ nghiêm trọng và lý do

severity-low = Thấp
severity-medium = Trung bình
severity-high = Cao
severity-critical = Khẩn cấp

reason-child-danger = Có trẻ em đang gặp nguy hiểm
reason-intimate-images = Liên quan đến hình ảnh nhạy cảm của học sinh
reason-threats = Có đe dọa hoặc tống tiền
reason-bullying = Học sinh bị bắt nạt hoặc dụ dỗ
reason-money-large = Thiệt hại lớn về tiền
reason-money-lost = Đã bị mất tiền
reason-scam = Lừa đảo, mạo danh
reason-official-channel = Kênh thông tin chính thức của trường bị chiếm
reason-account-hacked = Tài khoản bị chiếm
reason-leak-many = Lộ thông tin của nhiều người
reason-data-leak = Lộ thông tin cá nhân
reason-viral = Nội dung lan truyền rộng
reason-harmful = Nội dung sai sự thật hoặc xúc phạm
reason-other = Sự việc khác
