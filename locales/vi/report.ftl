## Cuộc trò chuyện báo cáo sự cố

report-intro = Xin Anh/Chị trả lời vài câu hỏi ngắn. Anh/Chị có thể bấm «⬅ Quay lại» để sửa câu trước, hoặc /cancel để hủy bất cứ lúc nào.
resume-ask = Anh/Chị đang có một báo cáo chưa gửi. Anh/Chị muốn tiếp tục báo cáo đó hay bắt đầu lại?
btn-resume = ▶️ Tiếp tục
btn-restart = 🔄 Bắt đầu lại
rate-limited = Anh/Chị đã gửi { $limit } báo cáo trong một giờ qua. Xin Anh/Chị đợi một lát rồi gửi tiếp. Nếu có người đang gặp nguy hiểm, hãy gọi ngay 113.
type-chosen = Loại sự cố: <b>{ $type }</b>.
question-progress = <i>Câu { $current }/{ $total }</i>
hint-optional = Nếu không có thông tin, Anh/Chị bấm «Bỏ qua».
answer-recorded = ✔️ Đã ghi nhận.
answer-skipped = (bỏ qua)
draft-lost = Báo cáo đang soạn không còn nữa (có thể đã quá hạn). Xin Anh/Chị bấm «📝 Báo cáo sự cố» để bắt đầu lại.
report-cancelled = Đã hủy báo cáo. Không có thông tin nào được gửi đi.
err-press-button = Xin Anh/Chị bấm một trong các nút bên dưới.
err-many-tries = Nếu chưa có thông tin này, Anh/Chị có thể bấm «Bỏ qua» hoặc «Hủy».
err-not-text = Câu hỏi này cần trả lời bằng chữ hoặc bằng nút bấm. Xin Anh/Chị trả lời lại.
err-not-text-photo = Anh/Chị sẽ gửi ảnh, tệp và video ở bước «Bằng chứng» ngay sau các câu hỏi. Bây giờ xin Anh/Chị trả lời câu hỏi bằng chữ hoặc bằng nút bấm.
err-choose-one = Xin Anh/Chị chọn ít nhất một mục.
btn-back = ⬅ Quay lại
btn-skip = Bỏ qua ⏭
btn-cancel = ✖ Hủy
btn-done-choosing = ✔️ Xong

## Bằng chứng

evidence-ask =
    📎 <b>Bằng chứng</b>
    Xin Anh/Chị gửi ảnh chụp màn hình, tệp (ảnh, PDF, Word, Excel), video, đường link, hoặc chuyển tiếp (forward) tin nhắn của kẻ gian vào đây. Có thể gửi nhiều lần. Khi xong, bấm «Xong».
evidence-received = Đã nhận { $count }/{ $max } bằng chứng. Gửi thêm hoặc bấm «Xong».
evidence-album = Đã nhận album { $count } tệp.
evidence-full = Đã đủ { $max } bằng chứng, là số lượng tối đa cho một báo cáo.
evidence-too-big = Tệp này lớn hơn 20 MB nên không thể nhận. Xin Anh/Chị gửi ảnh chụp màn hình hoặc đường link thay thế.
evidence-bad-file = Loại tệp này không được nhận. Xin Anh/Chị gửi ảnh, PDF, Word, Excel hoặc video.
evidence-unsupported = Ở bước này, xin Anh/Chị gửi ảnh, tệp, video, đường link hoặc tin nhắn chuyển tiếp. Nhãn dán, tin nhắn thoại và vị trí không được nhận làm bằng chứng.
btn-evidence-done = ✔️ Xong ({ $count })
btn-evidence-none = Không có bằng chứng ⏭
evidence-none = không có
evidence-kind-photo = { $count } ảnh
evidence-kind-document = { $count } tệp
evidence-kind-video = { $count } video
evidence-kind-forward = { $count } tin nhắn chuyển tiếp
evidence-kind-link = { $count } đường link
evidence-kind-text = { $count } đoạn văn bản

## Danh tính

identity-ask =
    🕶 <b>Danh tính của Anh/Chị</b>
    Mặc định, người xử lý không biết Anh/Chị là ai; nhà trường vẫn có thể gửi câu hỏi cho Anh/Chị qua kênh này. Nếu muốn được liên hệ trực tiếp, Anh/Chị có thể chia sẻ họ tên và số điện thoại.
btn-anonymous = 🕶 Giữ ẩn danh (khuyến nghị)
btn-share-identity = 👤 Chia sẻ họ tên và số điện thoại
contact-ask = Xin Anh/Chị bấm nút «📱 Gửi số điện thoại của tôi» bên dưới, hoặc nhập số điện thoại.
btn-send-contact = 📱 Gửi số điện thoại của tôi
btn-stay-anonymous = 🕶 Giữ ẩn danh
contact-not-own = Xin Anh/Chị chỉ chia sẻ số điện thoại của chính mình, bằng nút «📱 Gửi số điện thoại của tôi».
contact-invalid = Số điện thoại chưa đúng. Xin Anh/Chị bấm nút «📱 Gửi số điện thoại của tôi» hoặc nhập số, ví dụ 0912 345 678.
contact-noted = Đã ghi nhận thông tin liên hệ.

## Xem lại và gửi

summary-title = 📋 <b>Xin Anh/Chị kiểm tra lại báo cáo</b>
summary-school = Trường: <b>{ $school }</b>
summary-role = Người báo cáo: { $role }
summary-type = Loại sự cố: <b>{ $type }</b>
summary-evidence = Bằng chứng: { $evidence }
summary-anonymous = Danh tính: ẩn danh
summary-shared = Danh tính: { $name }, { $phone }
summary-check = Nếu thông tin đã đúng, xin bấm «Gửi báo cáo».
btn-confirm = ✅ Gửi báo cáo
btn-edit = ✏️ Sửa câu trả lời
btn-add-evidence = 📎 Thêm bằng chứng
btn-change-identity = 🕶 Danh tính
btn-cancel-report = ✖ Hủy báo cáo
btn-back-to-summary = ⬅ Về bản tóm tắt
edit-ask = Xin Anh/Chị chọn câu trả lời cần sửa:
report-already-sent = Báo cáo này đã được gửi, mã { $code }.
receipt =
    ✅ <b>Đã gửi báo cáo.</b> Mã báo cáo: <code>{ $code }</code>
    Nhà trường đã nhận được báo cáo và sẽ xem xét, xử lý. Anh/Chị sẽ nhận được thông báo tại đây mỗi khi có cập nhật. Xem lại bất cứ lúc nào bằng «📂 Báo cáo của tôi».

    { $advice }

## Phản ánh của tôi

mycases-empty = Anh/Chị chưa gửi báo cáo nào.
mycases-title = 📂 <b>Các báo cáo của Anh/Chị</b>
mycases-item = • <code>{ $code }</code> — { $type } — <b>{ $status }</b> ({ $date })
mycase-header = <b>{ $code }</b> — { $type }
    Tình trạng: <b>{ $status }</b>
mycase-event = { $at }: { $event }
status-new = Đã tiếp nhận
status-acknowledged = Đang xử lý
status-escalated = Đã chuyển cấp trên
status-closed = Đã đóng
event-created = Anh/Chị đã gửi báo cáo

## Giới hạn, hết hạn

flood-warning = Anh/Chị đang gửi tin nhắn quá nhanh. Xin đợi vài giây rồi tiếp tục.
draft-expired = Báo cáo chưa hoàn tất của Anh/Chị đã được hủy vì không có thao tác trong { $hours } giờ. Khi cần, xin bấm «📝 Báo cáo sự cố» để bắt đầu lại.
