## The report conversation

report-intro = Please answer a few short questions. Press «⬅ Back» to change the previous answer, or /cancel to stop at any time.
resume-ask = You have a report you have not sent yet. Would you like to continue it or start again?
btn-resume = ▶️ Continue
btn-restart = 🔄 Start again
rate-limited = You have sent { $limit } reports in the last hour. Please wait a little before sending another. If someone is in danger, call 113 now.
type-chosen = Incident type: <b>{ $type }</b>.
question-progress = <i>Question { $current }/{ $total }</i>
hint-optional = If you do not know, press «Skip».
answer-recorded = ✔️ Noted.
answer-skipped = (skipped)
draft-lost = The report you were writing is no longer available (it may have expired). Please press «📝 Report an incident» to start again.
report-cancelled = The report was cancelled. Nothing has been sent.
err-press-button = Please press one of the buttons below.
err-many-tries = If you do not have this information, you can press «Skip» or «Cancel».
err-not-text = This question needs a typed answer or a button press. Please answer again.
err-not-text-photo = You will send photos, files and videos at the «Evidence» step right after the questions. For now, please answer the question with text or a button.
err-choose-one = Please choose at least one item.
btn-back = ⬅ Back
btn-skip = Skip ⏭
btn-cancel = ✖ Cancel
btn-done-choosing = ✔️ Done

## Evidence

evidence-ask =
    📎 <b>Evidence</b>
    Please send screenshots, files (images, PDF, Word, Excel), videos, links, or forward the scammer's messages here. You can send several. When finished, press «Done».
evidence-received = Received { $count }/{ $max } items. Send more or press «Done».
evidence-album = Received an album of { $count } files.
evidence-full = You have sent { $max } items, the most one report can hold.
evidence-too-big = This file is larger than 20 MB and cannot be received. Please send a screenshot or a link instead.
evidence-bad-file = This kind of file is not accepted. Please send an image, PDF, Word, Excel file or a video.
evidence-unsupported = At this step, please send a photo, file, video, link or forwarded message. Stickers, voice messages and locations are not accepted as evidence.
btn-evidence-done = ✔️ Done ({ $count })
btn-evidence-none = No evidence ⏭
evidence-none = none
evidence-kind-photo = { $count } photo(s)
evidence-kind-document = { $count } file(s)
evidence-kind-video = { $count } video(s)
evidence-kind-forward = { $count } forwarded message(s)
evidence-kind-link = { $count } link(s)
evidence-kind-text = { $count } text note(s)

## Identity

identity-ask =
    🕶 <b>Your identity</b>
    By default, those handling the report do not know who you are; the school can still send you questions through this channel. If you want to be contacted directly, you can share your name and phone number.
btn-anonymous = 🕶 Stay anonymous (recommended)
btn-share-identity = 👤 Share my name and phone number
contact-ask = Please press «📱 Send my phone number» below, or type your phone number.
btn-send-contact = 📱 Send my phone number
btn-stay-anonymous = 🕶 Stay anonymous
contact-not-own = Please share only your own phone number, with the «📱 Send my phone number» button.
contact-invalid = That phone number is not valid. Please press «📱 Send my phone number» or type a number, for example 0912 345 678.
contact-noted = Your contact details are noted.

## Review and send

summary-title = 📋 <b>Please check your report</b>
summary-school = School: <b>{ $school }</b>
summary-role = Reported by: { $role }
summary-type = Incident type: <b>{ $type }</b>
summary-evidence = Evidence: { $evidence }
summary-anonymous = Identity: anonymous
summary-shared = Identity: { $name }, { $phone }
summary-check = If everything is correct, press «Send report».
btn-confirm = ✅ Send report
btn-edit = ✏️ Change an answer
btn-add-evidence = 📎 Add evidence
btn-change-identity = 🕶 Identity
btn-cancel-report = ✖ Cancel report
btn-back-to-summary = ⬅ Back to the summary
edit-ask = Please choose the answer to change:
report-already-sent = This report has already been sent, code { $code }.
receipt =
    ✅ <b>Report sent.</b> Report code: <code>{ $code }</code>
    The school has received your report and will review and handle it. You will be notified here of every update. See it any time under «📂 My reports».

    { $advice }

## My reports

mycases-empty = You have not sent any reports yet.
mycases-title = 📂 <b>Your reports</b>
mycases-item = • <code>{ $code }</code> — { $type } — <b>{ $status }</b> ({ $date })
mycase-header = <b>{ $code }</b> — { $type }
    Status: <b>{ $status }</b>
mycase-event = { $at }: { $event }
status-new = Received
status-acknowledged = Being handled
status-escalated = Escalated
status-closed = Closed
event-created = You sent the report

## Limits, expiry

flood-warning = You are sending messages too quickly. Please wait a few seconds and continue.
draft-expired = Your unfinished report was discarded after { $hours } hours without activity. Whenever you need to, press «📝 Report an incident» to start again.
