## Thẻ hồ sơ gửi người xử lý

card-status-new = Mới, chưa có người tiếp nhận
card-status-acknowledged = Đang xử lý
card-status-escalated = Đã chuyển cấp trên
card-status-closed = Đã đóng
card-school = 🏫 { $school }
card-type = 📌 { $type } · { $at }
card-status = Trạng thái: <b>{ $status }</b>
card-changed-by = Cập nhật bởi: { $who }
card-money = 💸 Số tiền bị mất: <b>{ $amount }</b>
card-indicators = 🔎 Dấu hiệu nhận diện: { $indicators }
card-evidence = 📎 Bằng chứng: { $evidence }
card-evidence-text = Nội dung bằng chứng
card-reporter-anonymous = 👤 Người báo cáo: { $role }, ẩn danh
card-reporter = 👤 Người báo cáo: { $role }, { $name }, { $phone }
card-too-long = Nội dung quá dài. Bấm «📄 Xem đầy đủ» để đọc toàn bộ.
card-why = <i>Anh/Chị nhận hồ sơ này vì: { $reason }</i>
outcome-resolved = Đã giải quyết
outcome-referred = Đã chuyển Công an
outcome-duplicate = Trùng hồ sơ khác
outcome-false-report = Phản ánh sai sự thật
outcome-no-action = Không cần xử lý
btn-triage-ack = ✅ Tiếp nhận
btn-triage-ask = ❓ Hỏi người báo cáo
btn-triage-police = 🚓 Chuyển Công an
btn-triage-district = 🏛 Chuyển cấp trên
btn-triage-close = ✔️ Đóng hồ sơ
btn-triage-reopen = 🔄 Mở lại
btn-triage-more = 📄 Xem đầy đủ

## Lý do nhận hồ sơ

route-school-leader = Anh/Chị là lãnh đạo của trường
route-police-money-lost = người báo cáo đã bị mất tiền
route-police-threats = có đe dọa hoặc tống tiền
route-police-intimate = có hình ảnh nhạy cảm của trẻ em
route-police-danger = có trẻ em đang gặp nguy hiểm
route-police-missing = chưa có Công an liên lạc nên hồ sơ cần Công an được chuyển tới cán bộ quản lý
route-officer-official-channel = kênh thông tin chính thức của trường bị chiếm quyền
route-officer-data-leak = lộ lọt dữ liệu của nhiều người
route-officer-critical = hồ sơ ở mức khẩn cấp
route-officer-no-responder = trường chưa có người xử lý nhận được tin nhắn
route-last-resort = không có người xử lý nào khác nhận được hồ sơ
route-nearest-any = không có người xử lý nào khác nhận được hồ sơ
route-overdue-escalation = hồ sơ chưa được tiếp nhận đúng hạn
route-escalated-district = hồ sơ được chuyển lên cấp trên
route-escalated-police = hồ sơ được chuyển tới Công an

## Kết quả thao tác

triage-done = Đã cập nhật: { $status }
triage-denied = Anh/Chị không có quyền xử lý hồ sơ này.
triage-stale = Thao tác này không còn phù hợp. Trạng thái hiện tại: { $status } (cập nhật gần nhất: { $who }).
triage-conflict = Hồ sơ vừa được { $who } cập nhật trước. Trạng thái hiện tại: { $status }.
close-choose = Xin chọn kết quả xử lý hồ sơ <code>{ $code }</code>:
close-note-ask = Xin nhập ghi chú ngắn về kết quả xử lý hồ sơ <code>{ $code }</code>, hoặc bấm «Bỏ qua».
close-duplicate-ask = Xin nhập mã của hồ sơ gốc mà hồ sơ <code>{ $code }</code> trùng lặp.
close-duplicate-unknown = Không tìm thấy hồ sơ gốc có mã «{ $code }». Xin kiểm tra lại mã.
close-note-text = Xin nhập ghi chú bằng chữ.
ask-prompt = { $name }, xin nhập câu hỏi gửi người báo cáo hồ sơ <code>{ $code }</code>. Danh tính của Anh/Chị sẽ không được hiển thị.
ask-sent = Đã gửi câu hỏi cho người báo cáo hồ sơ <code>{ $code }</code>. Câu trả lời sẽ được chuyển tới đây.
ask-impossible = Không thể gửi câu hỏi cho người báo cáo hồ sơ <code>{ $code }</code> (hồ sơ đã đóng hoặc người báo cáo đã rút lại sự đồng ý).
relay-text-only = Xin nhập nội dung bằng chữ.

## Trao đổi với người báo cáo

relay-question =
    💬 Nhà trường có câu hỏi về phản ánh <code>{ $code }</code>:

    { $text }

    Xin Anh/Chị bấm «Trả lời» để trả lời.
btn-reply = ↩️ Trả lời
reply-prompt = Xin Anh/Chị nhập câu trả lời cho phản ánh <code>{ $code }</code>.
reply-sent = Đã gửi câu trả lời của Anh/Chị cho nhà trường (phản ánh <code>{ $code }</code>).
reply-unknown-case = Không tìm thấy phản ánh này trong các phản ánh của Anh/Chị.
reply-usage = Cách dùng: /reply MÃ_PHẢN_ÁNH nội dung trả lời
relay-answer =
    💬 Người báo cáo trả lời về hồ sơ <code>{ $code }</code>:

    { $text }
notify-acknowledged = ✅ Phản ánh <code>{ $code }</code> của Anh/Chị đã được nhà trường tiếp nhận và đang được xử lý.
notify-escalated-police = 🚓 Phản ánh <code>{ $code }</code> đã được chuyển tới cơ quan Công an để phối hợp xử lý.
notify-escalated-district = 🏛 Phản ánh <code>{ $code }</code> đã được chuyển lên cơ quan quản lý giáo dục cấp trên.
notify-closed-resolved = ✔️ Phản ánh <code>{ $code }</code> đã được xử lý xong. Cảm ơn Anh/Chị đã báo cho nhà trường.
notify-closed-referred = ✔️ Phản ánh <code>{ $code }</code> đã được chuyển cho cơ quan Công an giải quyết. Cảm ơn Anh/Chị.
notify-closed-duplicate = ✔️ Phản ánh <code>{ $code }</code> trùng với một phản ánh đã được tiếp nhận trước đó và sẽ được xử lý cùng phản ánh đó. Cảm ơn Anh/Chị.
notify-closed-false-report = Phản ánh <code>{ $code }</code> đã được xem xét và đóng lại vì thông tin chưa được xác thực.
notify-closed-no-action = Phản ánh <code>{ $code }</code> đã được xem xét và đóng lại; hiện không cần biện pháp xử lý thêm. Cảm ơn Anh/Chị.
notify-reopened = 🔄 Phản ánh <code>{ $code }</code> đã được mở lại để tiếp tục xử lý.
reminder = ⏰ Hồ sơ <code>{ $code }</code> (mức { $severity }) vẫn chưa được tiếp nhận. Xin Anh/Chị xem và bấm «Tiếp nhận».

## Danh sách hồ sơ và lịch sử

cases-not-responder = Lệnh này dành cho người xử lý hồ sơ. Nếu Anh/Chị là cán bộ nhà trường, xin liên hệ quản trị viên để nhận lời mời.
cases-none = Hiện không có hồ sơ nào đang mở.
cases-title = 📋 <b>Hồ sơ đang mở ({ $total })</b>
cases-item = { $badge } <code>{ $code }</code> — { $type } — { $status } ({ $date })
cases-hint = Xem chi tiết: /case MÃ_HỒ_SƠ
btn-prev = ⬅ Trang trước
btn-next = Trang sau ➡
case-not-found = Không tìm thấy hồ sơ, hoặc Anh/Chị không có quyền xem hồ sơ này.
timeline-title = 🕓 <b>Lịch sử hồ sơ</b>
timeline-item = { $at } — { $event } { $who }
audit-created = Người báo cáo gửi phản ánh
audit-routed = Hồ sơ được gửi tới người xử lý
audit-acknowledged = Tiếp nhận hồ sơ
audit-asked = Hỏi người báo cáo
audit-answered = Người báo cáo trả lời
audit-escalated-police = Chuyển Công an
audit-escalated-district = Chuyển cấp trên
audit-escalation-police = Hồ sơ được gửi tới Công an
audit-escalation-district = Hồ sơ được gửi tới cấp trên
audit-escalation-overdue = Hồ sơ được gửi tới cấp trên do quá hạn
audit-escalated-overdue = Quá hạn tiếp nhận, tự động chuyển cấp trên
audit-reminded = Nhắc tiếp nhận hồ sơ
audit-closed = Đóng hồ sơ
audit-reopened = Mở lại hồ sơ
audit-viewed = Xem hồ sơ
audit-denied = Thao tác bị từ chối (không có quyền)
audit-recipient-unreachable = Không gửi được tới một người nhận (đã chặn bot)
audit-topic-recreated = Chủ đề của hồ sơ trong nhóm bị xoá, đã mở chủ đề mới
event-acknowledged = Nhà trường đã tiếp nhận
event-asked = Nhà trường gửi câu hỏi
event-answered = Anh/Chị đã trả lời
event-escalated-police = Đã chuyển tới Công an
event-escalated-district = Đã chuyển lên cấp trên
event-closed = Đã đóng phản ánh
event-reopened = Đã mở lại phản ánh

## Nhóm tiếp nhận hồ sơ

bind-denied = Chỉ lãnh đạo đơn vị hoặc cán bộ Phòng/Sở đã được xác nhận mới có thể đặt nhóm này làm nhóm tiếp nhận hồ sơ.
bind-choose = Anh/Chị muốn đặt nhóm này làm nhóm tiếp nhận hồ sơ của đơn vị nào?
bind-done = ✅ Nhóm này đã trở thành nhóm tiếp nhận hồ sơ của <b>{ $unit }</b>. Hồ sơ mới sẽ được gửi vào đây.
bind-done-forum = ✅ Nhóm này đã trở thành nhóm tiếp nhận hồ sơ của <b>{ $unit }</b>. Mỗi hồ sơ mới sẽ có một chủ đề riêng trong nhóm.
bind-in-group = Xin gõ lệnh /bind trong nhóm Telegram mà Anh/Chị muốn dùng làm nhóm tiếp nhận hồ sơ (thêm bot vào nhóm trước).
