## Intake: questions, choices, errors, advice, severity.
## Same ids and variables as locales/vi/intake.ftl (the reference).
## Button labels must stay short. No HTML special characters.

## Role and incident type

q-role = Who are you in the school community?
label-role = Reporter
role-parent = Parent
role-staff = Teacher or staff
role-student = Student
role-other = Other

q-type =
    What would you like to report?
    • Hacked account: the school's website, fanpage or Zalo group, an email or a personal account taken over by someone else.
    • Scam or impersonation: someone pretending to be the school, a teacher, a relative or an official to ask for money, OTP codes or personal data.
    • Harmful content: false news, insults, defamation, obscene content or incitement.
    • Data leak: lists or photos of students or staff published without consent.
    • Bullying or luring: a student bullied, lured, threatened or blackmailed online.
label-type = Incident type
type-hacked = Hacked account
type-scam = Scam, impersonation
type-harmful = Harmful content
type-data-leak = Data leak
type-bullying = Bullying, luring
type-other = Something else

## Common questions

q-platform = On which platform did it happen?
q-scam-platform = How did the scammer contact you?
q-hacked-platform = On which platform is the hacked account?
label-platform = Platform
choice-platform-facebook = Facebook
choice-platform-zalo = Zalo
choice-platform-tiktok = TikTok
choice-platform-instagram = Instagram
choice-platform-youtube = YouTube
choice-platform-website = Website
choice-platform-sms = SMS
choice-platform-phone-call = Phone call
choice-platform-other = Other

q-links = Please send the links to the post, page or account concerned. You can send several links, one per line.
label-links = Links

q-when = When did it happen? Choose below or type a date, for example 15/03/2025.
q-scam-when = When did the scammer contact you? Choose below or type a date, for example 15/03/2025.
q-hacked-when = When did you notice the account was hacked? Choose below or type a date, for example 15/03/2025.
label-when = When
choice-when-today = Today
choice-when-yesterday = Yesterday
choice-when-this-week = This week
choice-when-earlier = Earlier

q-affected = Who is affected?
q-leak-affected = Whose data was leaked?
label-affected = Affected
choice-affected-school = The school
choice-affected-staff = Teacher or staff
choice-affected-student = Student
choice-affected-parent = Parent
choice-affected-other = Someone else

q-class = Which class is the student in? For example 6A, 10A1.
label-class = Class

q-details = Would you like to add anything? Please keep it short, at most 1000 characters.
q-other-details = Please describe briefly what happened, in at most 1000 characters.
label-details = Details

choice-yesno-yes = Yes
choice-yesno-no = No
choice-yesno-unknown = Not sure
choice-yesno-partly = Partly

## Scam, impersonation

q-pretended = Who did the scammer pretend to be?
label-pretended = Pretended to be
choice-pretended-school = The school
choice-pretended-teacher = A teacher
choice-pretended-relative = A relative
choice-pretended-official = Police, an official
choice-pretended-bank = A bank
choice-pretended-other = Someone else

q-asked-for = What did the scammer ask you for? You can choose several, then press “Done”.
label-asked-for = Asked for
choice-asked-for-money = Money
choice-asked-for-otp = OTP code
choice-asked-for-personal-data = Personal data
choice-asked-for-other = Something else

q-phones = Which phone numbers did the scammer use? Separate several numbers with commas.
label-phones = Scammer's phone numbers

q-bank-account = Which bank account and bank did the scammer ask you to pay into? For example 0123456789 Vietcombank.
label-bank-account = Receiving account

q-profile = Please send the link to the scammer's profile or account, for example on Facebook, Zalo or TikTok.
label-profile = Scammer's account

q-money-sent = Did you transfer money to the scammer?
label-money-sent = Money transferred

q-amount = How much did you transfer? For example 5 triệu, 500k or 5.000.000đ.
label-amount = Amount transferred

q-money-when = When did you transfer the money? Choose below or type a date, for example 15/03/2025.
label-money-when = Transferred on

## Hacked account

q-account = Which account or page was hacked?
label-account = Hacked account
choice-account-school-website = School website
choice-account-school-fanpage = School fanpage
choice-account-zalo-group-oa = Zalo group, Zalo OA
choice-account-email = Email
choice-account-staff-personal = A teacher's account
choice-account-student-personal = A student's account
choice-account-other = Other

q-access = Can the owner still log in?
label-access = Owner can log in

q-attacker-doing = What is the attacker doing with it? For example posting strange content, asking for loans, renaming the page.
label-attacker-doing = What the attacker does

## Harmful content

q-target = Who is the content aimed at?
label-target = Aimed at
choice-target-school = The school
choice-target-staff = Teacher or staff
choice-target-student = Student
choice-target-other = Someone else

q-spread = How widely has it been shared?
label-spread = Spread
choice-spread-few = Few people
choice-spread-many = Widely shared
choice-spread-viral = Viral

q-still-online = Is the content still online?
label-still-online = Still online

## Data leak

q-leak-where = Where was the data published? Send a link or describe it, for example the parents' Zalo group of class 6A.
label-leak-where = Published at

q-data-kinds = What data was leaked? You can choose several, then press “Done”.
label-data-kinds = Leaked data
choice-data-kinds-names = Names
choice-data-kinds-birth-dates = Birth dates
choice-data-kinds-phones = Phone numbers
choice-data-kinds-addresses = Addresses
choice-data-kinds-grades = Grades
choice-data-kinds-photos = Photos
choice-data-kinds-other = Other

q-people-count = About how many people are in the leaked data? Please type a number, for example 40.
label-people-count = People affected

## Bullying, luring, threats

q-danger = Is a student in danger right now?
label-danger = In danger now

q-victim = Who is being bullied or threatened? You may skip this if you prefer not to give a name.
label-victim = Victim

q-is-student = Is this person a student of the school?
label-is-student = Student of the school

q-intimate = Does it involve intimate or sensitive photos or videos?
label-intimate = Intimate images

q-threats = Are there threats, blackmail or pressure to do something?
label-threats = Threats, blackmail

## Indicator kinds (phone numbers, accounts, links)


indicator-phone = Phone number
indicator-bank-account = Bank account
indicator-url = Link
indicator-domain = Domain
indicator-profile = Social media account

## Validation errors

err-empty = You have not typed an answer. Please try again.
err-required = The school needs an answer to this question. Please answer it.
err-choice = Your answer does not match any option. Please press one of the buttons below.
err-choice-item = “{ $item }” does not match any option. Please use the buttons below.
err-phone = The phone number “{ $value }” is not valid. Please check it, for example 0912 345 678.
err-url = This does not look like a link. Please send the full link, for example facebook.com/accountname.
err-amount = The amount is not clear. Please type it again, for example 5 triệu, 500k or 5.000.000đ.
err-date = The date is not clear. Please type day/month/year, for example 15/03/2025.
err-date-future = This date is in the future. Please check it.
err-too-long = Your answer has { $length } characters, more than the limit of { $max }. Please shorten it.
err-number = Please type a number from { $min } to { $max }.
err-class = The class is not clear. Please type it again, for example 6A or 10A1.
err-bank-account = No account number found. Please type the account number and the bank, for example 0123456789 Vietcombank.
err-too-many = Please send at most { $max } items at a time.

## Safety advice

advice-scam = Do not transfer money and do not give out OTP codes. Call the school's official phone number to check. If you have already transferred money, call your bank now and ask them to block the transaction.
advice-scam-bank = Call your bank's hotline now and ask them to block the transaction, then report it to the nearest police station. Keep the transfer receipt and the messages.
advice-scam-otp = If you gave an OTP code or a password, change your password now and ask your bank to lock the account.
advice-hacked = Change the passwords of the email and the account, turn on two-factor authentication and log out of unknown devices. Do not click unknown links.
advice-hacked-recover = If the owner can no longer log in, use the platform's account recovery. For Facebook, go to facebook.com/hacked. Tell contacts not to trust messages from this account.
advice-hacked-official = Announce on the school's other official channels that this page has been taken over, so parents do not trust its posts or requests for money.
advice-harmful = Do not share or comment, so it does not spread further. Take screenshots, keep the links as evidence and use the platform's report function.
advice-data-leak = Do not share the list or photos any further. Take screenshots, keep the links and ask the publisher to remove them. Be careful with unknown calls or messages that use the leaked data.
advice-bullying = Stay calm and do not answer back. Keep the messages and images as evidence and tell a trusted adult, such as a parent or teacher, at once. The 111 hotline helps children for free, 24/7.
advice-danger = If you are in danger, call 113 (Police) or 111 (Child Protection Hotline, free, 24/7) now.
advice-intimate = Do not send more images and do not pay. Do not delete the messages: they are evidence. Spreading intimate images of children is a crime; the school and the police will help.
advice-threats = Do not meet the person and do not do what they demand. Keep the messages and tell a parent, a teacher or the police at once.
advice-other = Keep the evidence, such as screenshots, links and messages. The school will look into it and contact you.

## Severity and reasons

severity-low = Low
severity-medium = Medium
severity-high = High
severity-critical = Critical

reason-child-danger = A child is in danger
reason-intimate-images = Intimate images of a student
reason-threats = Threats or blackmail
reason-bullying = A student bullied or lured
reason-money-large = Large financial loss
reason-money-lost = Money was lost
reason-scam = Scam or impersonation
reason-official-channel = An official school channel was taken over
reason-account-hacked = Hacked account
reason-leak-many = Data of many people leaked
reason-data-leak = Personal data leaked
reason-viral = Content spreading widely
reason-harmful = False or insulting content
reason-other = Other incident
