## Lời chào, thông báo quyền riêng tư, tìm trường

start-greeting =
    Xin chào! Đây là kênh tiếp nhận phản ánh sự cố an toàn thông tin trên mạng của các trường học: tài khoản, trang của trường bị chiếm quyền, mạo danh nhà trường để lừa đảo, bài đăng xấu độc, lộ lọt dữ liệu cá nhân, bắt nạt hoặc dụ dỗ học sinh trên mạng.
start-greeting-school =
    Xin chào! Anh/Chị đang gửi phản ánh tới <b>{ $school }</b>.
    Kênh này tiếp nhận các sự cố an toàn thông tin trên mạng liên quan đến nhà trường và học sinh.
start-link-invalid = Đường dẫn này không hợp lệ hoặc đã được thay đổi. Anh/Chị vẫn có thể tìm trường bằng cách nhập tên trường.
privacy-notice =
    🔒 <b>Thông báo về xử lý dữ liệu cá nhân</b>

    • <b>Thông tin thu thập:</b> nội dung phản ánh và bằng chứng Anh/Chị gửi; mã tài khoản Telegram để thông báo kết quả xử lý; họ tên, số điện thoại chỉ khi Anh/Chị chọn cung cấp.
    • <b>Mục đích:</b> tiếp nhận, xác minh và xử lý sự cố an toàn thông tin liên quan đến nhà trường, học sinh.
    • <b>Người được xem:</b> Ban giám hiệu nhà trường; khi cần thiết, cán bộ Công an liên lạc và Phòng/Sở Giáo dục và Đào tạo. Nếu Anh/Chị chọn ẩn danh, danh tính của Anh/Chị không được hiển thị cho người xử lý.
    • <b>Thời gian lưu:</b> trong thời gian cần thiết để xử lý sự cố.
    • <b>Quyền của Anh/Chị:</b> rút lại sự đồng ý và yêu cầu xóa dữ liệu bất cứ lúc nào bằng lệnh /privacy.

    Căn cứ Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15 và Nghị định số 356/2025/NĐ-CP. Không có thông tin nào của Anh/Chị được lưu trước khi Anh/Chị đồng ý.
privacy-notice-agreed = Anh/Chị đã đồng ý với thông báo dưới đây. Anh/Chị có thể rút lại sự đồng ý; khi đó hồ sơ của Anh/Chị sẽ bị xóa.
btn-agree = ✅ Tôi đồng ý
btn-decline = Không đồng ý
btn-withdraw = 🗑 Rút lại đồng ý và xóa dữ liệu
consent-press-button = Xin Anh/Chị bấm «Tôi đồng ý» để tiếp tục, hoặc «Không đồng ý» nếu không muốn sử dụng kênh này.
consent-thanks = Cảm ơn Anh/Chị đã đồng ý.
consent-declined = Chúng tôi tôn trọng lựa chọn của Anh/Chị. Không có thông tin nào được lưu lại. Khi cần, Anh/Chị có thể gõ /start để bắt đầu lại.
privacy-withdrawn = Đã rút lại sự đồng ý và xóa hồ sơ của Anh/Chị. Các phản ánh đã gửi không còn gắn với danh tính của Anh/Chị. Gõ /start nếu Anh/Chị muốn sử dụng lại.
school-ask = Xin Anh/Chị nhập tên trường (có thể gõ không dấu), ví dụ: <i>thcs ngoc son</i>.
school-query-short = Xin Anh/Chị nhập ít nhất 2 ký tự của tên trường.
school-query-long = Tên trường quá dài. Xin Anh/Chị chỉ nhập vài từ chính trong tên trường.
school-not-found = Không tìm thấy trường nào khớp với «{ $query }». Xin Anh/Chị thử lại với ít từ hơn, ví dụ chỉ tên riêng của trường.
school-choose = Xin Anh/Chị chọn trường trong danh sách dưới đây (nếu không có, hãy nhập lại tên trường):
school-text-only = Xin Anh/Chị nhập tên trường bằng chữ.
school-chosen = Đã ghi nhận trường <b>{ $school }</b>. Khi cần phản ánh sự cố, Anh/Chị bấm «📝 Báo cáo sự cố» ở bên dưới.
welcome-back = Xin chào! Anh/Chị đang gửi phản ánh tới <b>{ $school }</b>. Xin chọn một mục ở bên dưới.

## Lời mời người xử lý

invite-joined = ✅ Anh/Chị đã được xác nhận là <b>{ $role }</b> của <b>{ $unit }</b>. Các phản ánh của đơn vị sẽ được gửi tới Anh/Chị tại đây.
invite-already = Anh/Chị đã là <b>{ $role }</b> của <b>{ $unit }</b>. Không cần dùng lại lời mời này.
invite-expired = Lời mời này đã hết hạn. Xin Anh/Chị liên hệ quản trị viên để nhận lời mời mới.
invite-used-up = Lời mời này đã được sử dụng hết. Xin Anh/Chị liên hệ quản trị viên để nhận lời mời mới.
invite-invalid = Lời mời không hợp lệ. Xin Anh/Chị kiểm tra lại đường dẫn hoặc liên hệ quản trị viên.
role-leader = Lãnh đạo đơn vị
role-police = Cán bộ Công an liên lạc
role-officer = Cán bộ Phòng/Sở Giáo dục và Đào tạo
role-admin = Quản trị hệ thống

## Menu và lệnh

menu-report = 📝 Báo cáo sự cố
menu-mycases = 📂 Báo cáo của tôi
menu-help = ❓ Hướng dẫn
menu-school = 🏫 Đổi trường
menu-language = 🌐 Ngôn ngữ
menu-placeholder = Chọn một mục bên dưới
cmd-start = Bắt đầu
cmd-report = Báo cáo sự cố mới
cmd-mycases = Xem các phản ánh của tôi
cmd-help = Hướng dẫn sử dụng
cmd-language = Chọn ngôn ngữ
cmd-privacy = Quyền riêng tư và xóa dữ liệu
cmd-cancel = Hủy thao tác đang làm
help-text =
    <b>Hướng dẫn sử dụng</b>

    • <b>📝 Báo cáo sự cố</b>: trả lời vài câu hỏi ngắn, gửi kèm ảnh chụp màn hình hoặc đường dẫn; nhà trường nhận được ngay.
    • <b>📂 Báo cáo của tôi</b>: xem tình trạng xử lý các báo cáo đã gửi.
    • /cancel: hủy thao tác đang làm.
    • /language: đổi ngôn ngữ.
    • /privacy: xem thông báo quyền riêng tư, rút lại đồng ý và xóa dữ liệu.

    Nếu có người đang gặp nguy hiểm, hãy gọi ngay <b>113</b> (Công an) hoặc <b>111</b> (Tổng đài quốc gia bảo vệ trẻ em).
language-choose = Xin chọn ngôn ngữ / Please choose your language:
language-set = Đã chuyển sang tiếng Việt.
cancelled = Đã hủy thao tác. Anh/Chị có thể chọn một mục ở bên dưới.
nothing-to-cancel = Hiện không có thao tác nào để hủy.
fallback = Xin lỗi, tôi chưa hiểu tin nhắn này. Anh/Chị có thể dùng các nút bên dưới hoặc gõ /help.
callback-stale = Nút này không còn hiệu lực. Xin Anh/Chị dùng tin nhắn mới nhất.
error-generic = Xin lỗi, đã có lỗi khi xử lý yêu cầu của Anh/Chị. Xin Anh/Chị thử lại sau ít phút.
