## Greeting, privacy notice, finding the school

start-greeting =
    Hello! This is where the school community reports online safety incidents: hacked school accounts and pages, scammers impersonating the school, harmful posts, leaked personal data, bullying or luring of students online.
start-greeting-school =
    Hello! You are reporting to <b>{ $school }</b>.
    This channel receives online safety incidents concerning the school and its students.
start-link-invalid = This link is not valid or has been changed. You can still find your school by typing its name.
privacy-notice =
    🔒 <b>How we handle personal data</b>

    • <b>What we collect:</b> your report and the evidence you send; your Telegram account id, to tell you how the report is handled; your name and phone number only if you choose to share them.
    • <b>Why:</b> to receive, verify and handle online safety incidents concerning the school and its students.
    • <b>Who sees it:</b> the school's leadership; when needed, the police liaison officer and the district or provincial Department of Education. If you report anonymously, your identity is not shown to those handling the report.
    • <b>How long:</b> as long as needed to handle the incident.
    • <b>Your rights:</b> withdraw your consent and have your data deleted at any time with /privacy.

    Under the Law on Personal Data Protection No. 91/2025/QH15 and Decree No. 356/2025/ND-CP. Nothing about you is stored before you agree.
privacy-notice-agreed = You have agreed to the notice below. You can withdraw your consent; your profile will then be deleted.
btn-agree = ✅ I agree
btn-decline = I do not agree
btn-withdraw = 🗑 Withdraw consent and delete my data
consent-press-button = Please press «I agree» to continue, or «I do not agree» if you do not want to use this channel.
consent-thanks = Thank you for agreeing.
consent-declined = We respect your choice. Nothing has been stored. You can type /start whenever you need to begin again.
privacy-withdrawn = Your consent is withdrawn and your profile deleted. Reports you sent are no longer linked to your identity. Type /start if you want to use the channel again.
school-ask = Please type your school's name (diacritics are optional), for example: <i>thcs ngoc son</i>.
school-query-short = Please type at least 2 characters of the school's name.
school-query-long = That name is too long. Please type just a few key words of the school's name.
school-not-found = No school matches «{ $query }». Please try fewer words, for example just the school's proper name.
school-choose = Please choose your school from the list below (if it is not there, type the name again):
school-text-only = Please type the school's name as text.
school-chosen = Your school is <b>{ $school }</b>. Whenever you need to report an incident, press «📝 Report an incident» below.
welcome-back = Hello! You are reporting to <b>{ $school }</b>. Please choose an option below.

## Responder invites

invite-joined = ✅ You are confirmed as <b>{ $role }</b> of <b>{ $unit }</b>. The unit's reports will be sent to you here.
invite-already = You are already <b>{ $role }</b> of <b>{ $unit }</b>. There is no need to use this invite again.
invite-expired = This invite has expired. Please ask the administrator for a new one.
invite-used-up = This invite has already been used. Please ask the administrator for a new one.
invite-invalid = This invite is not valid. Please check the link or contact the administrator.
role-leader = School/unit leader
role-police = Police liaison officer
role-officer = Education department officer
role-admin = System administrator

## Menu and commands

menu-report = 📝 Report an incident
menu-mycases = 📂 My reports
menu-help = ❓ Help
menu-school = 🏫 Change school
menu-language = 🌐 Language
menu-placeholder = Choose an option below
cmd-start = Start
cmd-report = Report a new incident
cmd-mycases = See my reports
cmd-help = How to use the bot
cmd-language = Choose the language
cmd-privacy = Privacy and deleting your data
cmd-cancel = Cancel what you are doing
help-text =
    <b>How to use the bot</b>

    • <b>📝 Report an incident</b>: answer a few short questions and attach screenshots or links; the school receives it at once.
    • <b>📂 My reports</b>: see how your reports are being handled.
    • /cancel: cancel what you are doing.
    • /language: change the language.
    • /privacy: read the privacy notice, withdraw consent and delete your data.

    If someone is in danger right now, call <b>113</b> (police) or <b>111</b> (national child protection hotline) immediately.
language-choose = Xin chọn ngôn ngữ / Please choose your language:
language-set = Switched to English.
cancelled = Cancelled. You can choose an option below.
nothing-to-cancel = There is nothing to cancel right now.
fallback = Sorry, I did not understand that message. You can use the buttons below or type /help.
callback-stale = This button is no longer active. Please use the latest message.
error-generic = Sorry, something went wrong while handling your request. Please try again in a few minutes.
