## The case card responders receive

card-status-new = New, not yet acknowledged
card-status-acknowledged = Being handled
card-status-escalated = Escalated
card-status-closed = Closed
card-school = 🏫 { $school }
card-type = 📌 { $type } · { $at }
card-status = Status: <b>{ $status }</b>
card-changed-by = Updated by: { $who }
card-money = 💸 Money lost: <b>{ $amount }</b>
card-indicators = 🔎 Indicators: { $indicators }
card-evidence = 📎 Evidence: { $evidence }
card-evidence-text = Evidence text
card-reporter-anonymous = 👤 Reported by: { $role }, anonymous
card-reporter = 👤 Reported by: { $role }, { $name }, { $phone }
card-too-long = The report is too long to show here. Press «📄 Show all» to read it in full.
card-why = <i>You receive this case because: { $reason }</i>
outcome-resolved = Resolved
outcome-referred = Referred to the police
outcome-duplicate = Duplicate of another case
outcome-false-report = False or prank report
outcome-no-action = No action needed
btn-triage-ack = ✅ Acknowledge
btn-triage-ask = ❓ Ask the reporter
btn-triage-police = 🚓 To the police
btn-triage-district = 🏛 Escalate
btn-triage-close = ✔️ Close
btn-triage-reopen = 🔄 Reopen
btn-triage-more = 📄 Show all

## Why a responder receives a case

route-school-leader = you lead the school
route-police-money-lost = the reporter lost money
route-police-threats = there are threats or extortion
route-police-intimate = intimate images of a minor are involved
route-police-danger = a child is in danger
route-police-missing = no police liaison is registered, so a case that needs the police goes to the officer
route-officer-official-channel = an official school channel was taken over
route-officer-data-leak = personal data of many people leaked
route-officer-critical = the case is critical
route-officer-no-responder = the school has no responder who can be reached
route-last-resort = no other responder can receive the case
route-nearest-any = no other responder can receive the case
route-overdue-escalation = the case was not acknowledged in time
route-escalated-district = the case was escalated to you
route-escalated-police = the case was referred to the police

## Results of actions

triage-done = Updated: { $status }
triage-denied = You are not allowed to act on this case.
triage-stale = This action no longer applies. Current status: { $status } (last update: { $who }).
triage-conflict = { $who } updated this case just before you. Current status: { $status }.
close-choose = Please choose the outcome of case <code>{ $code }</code>:
close-note-ask = Please type a short note on the outcome of case <code>{ $code }</code>, or press «Skip».
close-duplicate-ask = Please type the code of the original case that <code>{ $code }</code> duplicates.
close-duplicate-unknown = No case with code «{ $code }». Please check the code.
close-note-text = Please type the note as text.
ask-prompt = { $name }, please type your question for the reporter of case <code>{ $code }</code>. Your identity will not be shown.
ask-sent = Your question was sent to the reporter of case <code>{ $code }</code>. The answer will be forwarded here.
ask-impossible = The reporter of case <code>{ $code }</code> cannot be asked (the case is closed or the reporter withdrew consent).
relay-text-only = Please type the text.

## Messages between responders and the reporter

relay-question =
    💬 The school has a question about your report <code>{ $code }</code>:

    { $text }

    Please press «Reply» to answer.
btn-reply = ↩️ Reply
reply-prompt = Please type your answer about report <code>{ $code }</code>.
reply-sent = Your answer was sent to the school (report <code>{ $code }</code>).
reply-unknown-case = This report is not among your reports.
reply-usage = Usage: /reply REPORT_CODE your answer
relay-answer =
    💬 The reporter answered about case <code>{ $code }</code>:

    { $text }
notify-acknowledged = ✅ Your report <code>{ $code }</code> has been received by the school and is being handled.
notify-escalated-police = 🚓 Report <code>{ $code }</code> has been referred to the police for joint handling.
notify-escalated-district = 🏛 Report <code>{ $code }</code> has been escalated to the education authority.
notify-closed-resolved = ✔️ Report <code>{ $code }</code> has been resolved. Thank you for telling the school.
notify-closed-referred = ✔️ Report <code>{ $code }</code> has been handed to the police. Thank you.
notify-closed-duplicate = ✔️ Report <code>{ $code }</code> duplicates a report received earlier and will be handled with it. Thank you.
notify-closed-false-report = Report <code>{ $code }</code> was reviewed and closed because the information could not be confirmed.
notify-closed-no-action = Report <code>{ $code }</code> was reviewed and closed; no further action is needed at this time. Thank you.
notify-reopened = 🔄 Report <code>{ $code }</code> has been reopened for further handling.
reminder = ⏰ Case <code>{ $code }</code> ({ $severity }) has not been acknowledged yet. Please review it and press «Acknowledge».

## Case lists and history

cases-not-responder = This command is for responders. If you are school staff, please ask the administrator for an invite.
cases-none = There are no open cases.
cases-title = 📋 <b>Open cases ({ $total })</b>
cases-item = { $badge } <code>{ $code }</code> — { $type } — { $status } ({ $date })
cases-hint = Details: /case CASE_CODE
btn-prev = ⬅ Previous
btn-next = Next ➡
case-not-found = No such case, or you are not allowed to see it.
timeline-title = 🕓 <b>Case history</b>
timeline-item = { $at } — { $event } { $who }
audit-created = Reporter submitted the report
audit-routed = Case sent to a responder
audit-acknowledged = Acknowledged
audit-asked = Question to the reporter
audit-answered = Reporter answered
audit-escalated-police = Referred to the police
audit-escalated-district = Escalated
audit-escalation-police = Case sent to the police
audit-escalation-district = Case sent to the higher level
audit-escalation-overdue = Case sent to the higher level because it was overdue
audit-escalated-overdue = Not acknowledged in time; escalated automatically
audit-reminded = Acknowledgement reminder
audit-closed = Closed
audit-reopened = Reopened
audit-viewed = Viewed
audit-denied = Action refused (not allowed)
audit-recipient-unreachable = A recipient could not be reached (blocked the bot)
audit-topic-recreated = The case topic in the group was deleted; a new topic was opened
event-acknowledged = The school acknowledged your report
event-asked = The school asked a question
event-answered = You answered
event-escalated-police = Referred to the police
event-escalated-district = Escalated to the higher level
event-closed = Report closed
event-reopened = Report reopened

## Responder groups

bind-denied = Only a confirmed unit leader or education officer can make this group a case desk.
bind-choose = Which unit should this group be the case desk of?
bind-done = ✅ This group is now the case desk of <b>{ $unit }</b>. New cases will be sent here.
bind-done-forum = ✅ This group is now the case desk of <b>{ $unit }</b>. Each new case gets its own topic in the group.
bind-in-group = Please type /bind in the Telegram group you want to use as a case desk (add the bot to the group first).
