"""Makes training/brand_train.jsonl: the brand-mention TRAINING split, generated from templates.

Run `python training/make_brand_train.py > training/brand_train.jsonl`; the output is deterministic.

Only for training. The frozen test split (bench/brand_test.jsonl) was written by hand separately,
with other wording, other brand names and no template from this file, so that the test measures
generalisation, not memorised templates. Never copy a test sentence in here.

Each line: text, label (negative / neutral / positive), category, platform. Templates are filled with
brands, products and times, then decorated the way each platform's posts look (handles, hashtags,
news-site suffixes, Show HN, titles) and roughened (lowercase, a typo, an emoji, slang).
"""

from __future__ import annotations

import json
import random
import sys

BRANDS = ["Acme Cloud", "Globex", "Initech", "Umbrella Pay", "Hooli", "Vandelay Shipping", "Stark Bank",
          "Wonka Foods", "Pied Piper", "Contoso", "Northwind", "Cyberdyne", "Aperture Mail", "Nimbus Drive",
          "Zephyr Air", "Oscorp Mobile", "Waystar", "Soylent", "Rekall", "Bluebird Telecom", "Krusty Eats",
          "Planet Fitness+", "Omni Consumer", "Gekko Trade", "Lumon", "Parcelly", "Streamly", "Fintrix"]  # fmt: skip
THINGS = ["app", "website", "API", "dashboard", "checkout", "login", "console", "mobile app", "sync", "service",
          "portal", "payments", "email", "storage", "CLI", "web app"]  # fmt: skip
TIMES = ["since this morning", "for 2 hours", "all day", "since last night", "for the third time this week",
         "again", "right now", "since 9am", "for hours", "since the update", "today", "since yesterday"]  # fmt: skip
PEOPLE = ["my mom", "my team", "our ops team", "half our customers", "everyone in the office", "my clients"]

# (category, label, templates). {b} brand, {t} thing, {w} when, {p} people, {n} a number.
TEMPLATES: list[tuple[str, str, list[str]]] = [
    ("outage", "negative", [
        "{b} {t} is down {w}", "{b} down {w}?? nothing loads", "{b} outage {w}, {p} can't work",
        "{b} {t} returning 500 errors {w}", "getting 503s from {b} {w}", "{b} {t} not loading {w}",
        "whole {b} {t} just died", "{b} is offline {w} and the status page is green lol",
        "{b} servers dead {w}", "cannot reach {b} {w}", "{b} {t} keeps timing out {w}",
        "{b} went dark mid-deploy, everything stuck", "{b} {t} unavailable {w}, zero updates",
        "{b} borked again", "{b} {t} is completely broken {w}", "nothing works on {b} {w}",
        "another {b} outage, that's {n} this month", "{b} {t} gives a blank page {w}",
        "{b} crashed and took our {t} with it", "{b} connection refused {w}", "{b} {t} gone {w}, ugh",
        "site's dead. thanks {b}", "{b} {t} throwing errors left and right {w}",
    ]),
    ("performance", "negative", [
        "{b} {t} is painfully slow {w}", "{b} takes forever to load", "{b} {t} lagging like crazy",
        "why is {b} so sluggish lately", "{b} {t} freezes every few minutes", "{b} latency is through the roof",
        "{b} {t} crawls since the update", "{b} app drains my battery and stutters",
        "{b} {t} hangs on the spinner forever", "page loads on {b} take {n} seconds now, unacceptable",
        "{b} {t} eats all my RAM", "the new {b} {t} is a laggy mess", "{b} search is slow as molasses",
        "{b} uploads stall at 99% every time", "{b} keeps crashing on launch",
    ]),
    ("billing", "negative", [
        "{b} charged me twice this month", "{b} billed me after I cancelled", "{b} overcharged me ${n}",
        "mystery ${n} charge from {b} on my card", "{b} keeps charging a plan I never signed up for",
        "{b} refund still missing after {n} weeks", "{b} invoice is wrong again",
        "got hit with hidden fees by {b}", "{b} auto-renewed without asking, now I'm out ${n}",
        "{b} won't refund a double charge", "{b} took ${n} from my account for nothing",
        "{b} billing page dead {w} and I can't update my card", "cancelling {b} is impossible, still billed",
    ]),
    ("support", "negative", [
        "{b} support ghosted me", "opened {n} tickets with {b}, zero replies", "{b} support is useless",
        "been on hold with {b} for {n} minutes", "{b} customer service just keeps sending canned replies",
        "{b} support closed my ticket without fixing anything", "no one at {b} answers emails",
        "{b} chat bot loops forever, no human in sight", "{b} helpdesk told me to reinstall. for a billing issue",
        "{n} days waiting for {b} support", "{b} support hung up on me", "{b}'s support team is a joke",
        "asked {b} for help {n} times, still nothing", "{b} support keeps passing me around",
        "the {b} agent had no clue what I was talking about",
    ]),
    ("security", "negative", [
        "{b} leaked customer data", "{b} data breach exposed {n}k accounts", "my {b} account got hacked",
        "{b} stored passwords in plain text?!", "{b} got hacked and told nobody for weeks",
        "someone logged into my {b} account from another country", "{b} exposed our api keys",
        "{b} breach: emails and phone numbers dumped online", "{b} 2FA bypass lets anyone in",
        "{b} ransomware attack took down {t}", "phishing emails pretending to be {b} and they don't care",
        "{b} wiped my files without warning", "{b} lost all my data after the migration",
    ]),
    ("shipping", "negative", [
        "{b} lost my package", "{b} order still hasn't arrived after {n} weeks", "{b} delivered an empty box",
        "my {b} parcel says delivered but it's not here", "{b} shipped the wrong item again",
        "{b} delivery delayed {n} times", "{b} sent me a broken product and won't replace it",
        "ordered from {b} a month ago, nothing", "{b} tracking hasn't updated in {n} days",
        "{b} cancelled my order without telling me", "{b} courier left my box in the rain",
    ]),
    ("policy", "negative", [
        "{b} now sells your data to advertisers, deleting my account", "{b} new terms are a privacy nightmare",
        "{b} killed the free tier overnight", "{b} banned my account with no explanation",
        "{b} removed the feature I pay for", "{b} forcing ads into the paid plan now",
        "{b} changed their policy and locked out old users", "{b} training AI on our content without consent",
        "{b} is making us log in with a phone number now, no thanks", "{b} dropped support for my device",
        "{b} refuses to let me export my own data",
    ]),
    ("price", "negative", [
        "{b} raised prices by {n}% again", "{b} price hike is ridiculous", "{b} doubled the price of the pro plan",
        "{b} now charges extra for basic features", "{b} subscription went up again, cancelling",
        "{b} is getting way too expensive", "{b} new pricing is a cash grab",
        "paying {n}% more for less with {b}", "{b} shrinkflation: same price, half the product",
        "{b} just made the cheap plan useless to push upgrades",
    ]),
    ("sarcasm", "negative", [
        "great job {b}, down again", "thanks {b}, for nothing", "love waiting {n} hours for {b} support. so fun",
        "wow {b} lost my order again, amazing service", "oh good, {b} is down. perfect timing as always",
        "{b} really outdid themselves, another outage", "nice to see {b} charging me twice. generous",
        "10/10 would get ignored by {b} support again", "cool cool cool, {b} deleted my settings",
        "another day another {b} outage, love it", "thanks {b} for the surprise price hike",
        "brilliant move {b}, breaking the {t} on a friday", "so glad {b} 'improved' the {t}. now it's useless",
        "{b} support: world class at not answering", "wonderful, {b} logged me out for the {n}th time",
        "gotta love {b} charging for air", "amazing how {b} can break the {t} every single week",
        "yay, {b} {t} down right before my deadline",
    ]),
    ("question", "negative", [
        "is {b} down?", "is {b} down for anyone else?", "{b} down or is it just me?",
        "anyone else having trouble with {b} {w}?", "is the {b} {t} broken for everyone?",
        "can anyone log into {b} right now?", "is {b} having an outage?", "{b} not loading for anyone else?",
        "why does {b} keep failing {w}?", "anyone know why {b} {t} is erroring?", "is {b} dead again??",
        "does {b} work for anyone {w}?",
    ]),
    ("praise", "positive", [
        "{b} support fixed my issue in {n} minutes, amazing", "love the new {b} {t}",
        "{b} is so fast now, great update", "switched to {b} and never looking back",
        "shoutout to {b} for the quick refund", "{b} just works. highly recommend", "{b} team is awesome",
        "huge thanks to {b} support", "the {b} {t} redesign is beautiful", "{b} saved my project today",
        "really impressed with {b} lately", "{b} delivered a day early, nice", "best experience with {b} so far",
        "{b} keeps getting better", "10/10 {b} customer service", "{b} nailed this release",
        "big fan of {b}'s new pricing, way cheaper", "{b} is a lifesaver",
    ]),
    ("news", "neutral", [
        "{b} opens new office in Dublin", "{b} announces quarterly results", "{b} names new chief executive",
        "{b} to expand into Asian markets", "{b} launches {t} for small businesses",
        "{b} partners with local universities on research", "{b} files for IPO",
        "{b} releases version {n}.0 of its {t}", "{b} to hold annual developer conference in May",
        "{b} acquires startup for undisclosed sum", "{b} moves headquarters to Austin",
        "{b} publishes transparency report", "{b} adds support for new payment methods",
        "{b} CEO to speak at industry summit", "{b} hires {n} engineers in Berlin",
    ]),
    ("howto", "neutral", [
        "how do I export data from {b}?", "how to set up {b} {t} with Docker", "{b} API rate limits explained",
        "how do I change my {b} plan?", "migrating from {b} to self-hosted: notes",
        "what's the best way to connect {b} to Slack?", "{b} {t}: how to enable dark mode",
        "how do I reset my {b} password", "setting up webhooks in {b}", "does {b} support SSO?",
        "configuring {b} for a monorepo", "where do I find my {b} invoice history?",
        "how to use the {b} {t} with python", "{b} vs the competition for a small team?",
    ]),
    ("trap", "positive", [
        "{b} prices went down, nice", "{b} has a killer feature in this release", "sick deal on {b} today",
        "{b} new {t} is insanely good", "{b} absolutely crushed it", "this {b} update slaps",
        "{b} is dead simple to set up", "{b} killed it with the new {t}", "can't complain about {b}",
        "no complaints about {b} so far", "{b} is not bad at all", "{b} fixed the bug in a day, impressive",
        "{b} cut the price in half, wow", "{b} is ridiculously fast",
        "{b}'s outage response was honest and quick, respect",
        "{b} destroys the competition on price", "nothing beats {b}", "{b} never lets me down",
    ]),
    ("headline", "negative", [
        "{b} hit by outage, customers locked out", "{b} fined over data leak",
        "{b} shares slide after price hike backlash",
        "{b} customers report double charges", "{b} outage disrupts {t} for millions",
        "Regulator probes {b} over billing errors",
        "{b} recalls faulty devices after fires", "{b} accused of ignoring customer complaints",
        "{b} users furious over new privacy terms", "{b} delays deliveries as backlog grows",
        "{b} suffers second major outage in a week", "Hackers steal {n}m records from {b}",
    ]),
    ("headline", "positive", [
        "{b} wins award for customer service", "{b} praised for fast outage response",
        "{b} cuts prices for all customers", "{b} tops satisfaction survey again", "Customers love {b}'s new {t}",
    ]),
    ("trap", "neutral", [
        "{b} launches a bug bounty program", "{b} crash course for beginners", "{b} down payment options explained",
        "{b} dropped the old logo", "{b} bug bounty pays up to ${n}k", "{b} shuts down legacy API as planned",
        "{b} kills the old v1 endpoint next month, migrate by June", "{b} hack day recap",
        "{b} is down the street from my office", "{b} attack surface review published",
        "{b} terminal commands cheat sheet", "{b} fire drill at HQ today", "{b} debug mode tips",
    ]),
]  # fmt: skip

PLATFORMS = ["hackernews", "reddit", "mastodon", "bluesky", "youtube", "x", "newsapi", "gdelt", "rss", "stackexchange"]
HEADLINE_PLATFORMS = ["newsapi", "gdelt", "rss", "hackernews", "reddit", "youtube"]
NEWS_SUFFIXES = [" - Reuters", " | TechCrunch", " - The Verge", " - BBC News", " | ZDNet", ""]
EMOJI = ["😡", "🙄", "😤", "💀", "😭", "🔥", "👍", "🎉", "❤️", "😂"]
SLANG_NEG = [" smh", " ffs", " lol", " wtf", " ugh", " fml", " rn"]
SLANG_POS = [" ngl", " tbh", " fr", " lol", " 🙌"]


def typo(text: str, rng: random.Random) -> str:
    """Drops or doubles one letter of one longer word."""
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not spots:
        return text
    i = rng.choice(spots)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    words[i] = w[:j] + w[j + 1 :] if rng.random() < 0.5 else w[:j] + w[j] + w[j:]
    return " ".join(words)


def decorate(text: str, label: str, category: str, brand: str, platform: str, rng: random.Random) -> str:
    """Makes a filled template look like a post on the platform."""
    handle = "@" + brand.replace(" ", "").replace("+", "")
    tag = "#" + brand.replace(" ", "").replace("+", "")
    if platform in ("newsapi", "gdelt", "rss"):
        text = text[0].upper() + text[1:]
        return text + (rng.choice(NEWS_SUFFIXES) if platform != "rss" else "")
    if platform == "hackernews" and category in ("news", "howto", "trap") and rng.random() < 0.3:
        text = ("Show HN: " if category == "howto" else "Ask HN: ") + text
    if platform == "stackexchange" and category == "howto":
        return text[0].upper() + text[1:] + (" [closed]" if rng.random() < 0.1 else "")
    if platform == "reddit" and rng.random() < 0.3:
        text = text[0].upper() + text[1:] + "\n\n" + rng.choice(
            ["Title says it all.", "Anyone else?", "Posting here because nowhere else answers.", "Edit: typo",
             "Long time user here.", "Details in comments."])  # fmt: skip
    if platform == "x" and rng.random() < 0.5:
        text = text.replace(brand, handle, 1) if rng.random() < 0.5 else f"{handle} {text}"
    if platform in ("mastodon", "bluesky") and rng.random() < 0.4:
        text += f" {tag}"
    if platform == "youtube" and rng.random() < 0.3:
        text = rng.choice(["Video title: ", "", "Comment: "]) + text
    if rng.random() < 0.25:
        text += rng.choice(SLANG_NEG if label == "negative" else SLANG_POS)
    if rng.random() < 0.2:
        text += " " + rng.choice(EMOJI[:6] if label == "negative" else EMOJI[5:])
    return text


def rough(text: str, rng: random.Random) -> str:
    """Casing and typos as people write."""
    r = rng.random()
    if r < 0.3:
        text = text.lower()
    elif r < 0.38:
        words = text.split(" ")
        i = rng.randrange(len(words))
        words[i] = words[i].upper()
        text = " ".join(words)
    elif r < 0.6:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.15:
        text = typo(text, rng)
    if rng.random() < 0.1:
        text += rng.choice(["!", "!!", "...", "?!", "."])
    return text


# Fills per template: the neutral and positive categories have fewer templates, so more fills each.
PER_TEMPLATE = {"negative": 5, "neutral": 9, "positive": 8}


def generate(seed: int = 14) -> list[dict[str, str]]:
    """The training split: PER_TEMPLATE fills of every template, each on a random platform."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for category, label, templates in TEMPLATES:
        for template in templates:
            for _ in range(PER_TEMPLATE[label]):
                brand = rng.choice(BRANDS)
                text = template.format(b=brand, t=rng.choice(THINGS), w=rng.choice(TIMES), p=rng.choice(PEOPLE),
                                       n=rng.choice([2, 3, 4, 5, 12, 20, 45, 90]))  # fmt: skip
                platform = rng.choice(HEADLINE_PLATFORMS if category == "headline" else PLATFORMS[:6])
                if category in ("news", "howto", "trap") and rng.random() < 0.4:
                    platform = rng.choice(
                        ("newsapi", "gdelt", "rss") if category == "news" else ("stackexchange", "rss")
                    )
                text = rough(decorate(text, label, category, brand, platform, rng), rng)
                if rng.random() < 0.15 and label != "neutral":  # a second sentence, for length
                    other = rng.choice([t for c, lab, ts in TEMPLATES if lab == label for t in ts])
                    text += ". " + other.format(b=brand, t=rng.choice(THINGS), w=rng.choice(TIMES),
                                                p=rng.choice(PEOPLE), n=3)  # fmt: skip
                text = text[:280]
                if text.lower() in seen:
                    continue
                seen.add(text.lower())
                rows.append({"text": text, "label": label, "category": category, "platform": platform})
    rng.shuffle(rows)
    return rows


# Composed mentions: what happened (the situation) decides the label, whatever the frame around it.
# The same frames ("great,", "love how", "thanks", "10/10") carry sarcasm around a complaint and praise
# around good news, so a frame's cheerful words carry no label by themselves; what happened does.
NEGATIVE_SITUATIONS = [
    "lost my order again", "charged me twice for one month", "has been down since lunch", "deleted my photos",
    "kept me on hold for an hour", "cancelled my flight with no notice", "raised the price again",
    "logged me out for the third time today", "sent the wrong size again", "ignored all four of my emails",
    "still hasn't refunded me", "broke the export button", "leaked my email to spammers", "went offline mid-demo",
    "froze my account for no reason", "took two weeks to answer a ticket", "lost my luggage", "is timing out again",
    "doubled the delivery fee", "removed the feature I actually used", "made me reset my password three times",
    "closed my ticket without reading it", "delivered a box full of broken glass", "is stuck on a loading screen",
    "sent my parcel to the wrong city", "put ads in the paid plan", "dropped support for my phone",
    "hit me with a surprise fee", "crashed during my presentation", "overbooked my flight and bumped me",
    "renewed my plan after I cancelled", "wiped my saved settings", "sold my data to advertisers",
    "shut off my service by mistake", "returned 502 errors all morning", "took my money and never shipped",
    "has no one answering the phone", "made the app slower with every update", "is down on payday",
    "forgot half my order", "lost three days of my files", "locked me out of my own account",
    "blamed me for their billing mistake", "changed the terms without telling anyone", "is unreachable again",
    "let someone else into my account", "made cancelling take seven steps", "sent a bill for a closed account",
    "delayed my delivery for the fifth time", "hung up on me after an hour", "deleted my playlist",
    "drained my battery overnight", "made me wait 40 minutes for a cold burger", "broke checkout on black friday",
    "has had its status page green through a whole outage", "bricked my device with an update",
    "charged roaming on a plan that includes roaming", "answered my complaint with a coupon for more of the same",
    "cut my storage in half at the same price", "kept the deposit with no explanation",
]  # fmt: skip
POSITIVE_SITUATIONS = [
    "refunded me the same day", "fixed the bug within an hour", "delivered a day early", "made setup painless",
    "cut the price in half", "answered my ticket in minutes", "found my lost bag and drove it to my door",
    "upgraded my seat for free", "restored my deleted files", "waived the late fee without me asking",
    "has had zero outages all year", "never lets me down", "has a killer new feature", "had a sick deal on today",
    "went down in price again", "is dead easy to set up", "crushed the launch", "fixed the crash in a day",
    "has no hidden fees at all", "sent a replacement before I even returned the broken one",
    "made the app twice as fast", "credited my account for the outage", "explained the outage honestly",
    "kept my data safe through the whole migration", "gave me a human on the phone in two minutes",
    "shipped the feature we asked for", "remembered my birthday with a discount", "made my commute cheaper",
    "beat every other quote by a mile", "sorted my mortgage in a week", "blocked a scam before it hit me",
    "made returns painless", "added dark mode and it looks great", "has the friendliest drivers in town",
    "got my parcel across the country overnight", "lowered the fees for small shops", "has rock solid uptime",
    "actually listens to feedback", "made moving my number effortless", "has support that really cares",
]  # fmt: skip
NEUTRAL_SITUATIONS = [
    "is moving its office to Leeds", "published its roadmap", "released version 5", "is hiring in Berlin",
    "launched a bug bounty program", "published a crash course for new users", "is shutting down the v1 API as planned",
    "held a fire drill at headquarters", "killed the beta channel and merged it into stable",
    "wrote up how they run incident drills", "changed its logo", "announced a conference in May",
    "named a new chief technology officer", "is opening a store downtown", "updated its privacy page wording",
    "added a Portuguese version of the app", "posted its quarterly numbers", "is sponsoring a local marathon",
    "moved its blog to a new address", "has a new API endpoint for exports", "will livestream its keynote",
    "switched its support hours to 8am-6pm", "is testing a new app layout with some users",
    "merged its two mobile apps into one", "reorganised its help centre", "started a podcast",
]  # fmt: skip
# {B} brand, {s} situation. Frames for any situation.
FRAMES = [
    "{B} {s}", "{B} {s}.", "so {B} {s}", "just found out {B} {s}", "update: {B} {s}", "{B} {s} today",
    "well, {B} {s}", "apparently {B} {s}", "heads up: {B} {s}",
]  # fmt: skip
# Cheerful frames: sarcasm around a complaint, praise around good news.
CHEERFUL = [
    "great, {B} {s}. thanks", "wow {B} {s}, amazing", "love how {B} {s}", "{B} {s}. love that for me",
    "{B} {s}. perfect timing", "{B} {s}. brilliant.", "{B} {s}, fantastic service as always",
    "so happy {B} {s}", "really loving that {B} {s}", "shoutout to {B}, who {s}", "10/10, {B} {s}",
    "oh wonderful, {B} {s}", "thank you {B}! you {s}", "nice one {B}, {s}", "gotta love it when {B} {s}",
    "cool cool cool. {B} {s}", "what a day: {B} {s} 🙃", "yay, {B} {s}", "incredible. {B} {s}",
]  # fmt: skip
QUESTION_FRAMES = ["is it just me or {B} {s}?", "anyone else notice {B} {s}?", "did {B} really {s_bare}?"]


# How-to questions: neutral, however much they look like the "is X down?" kind.
FEATURES = ["SSO", "two-factor login", "dark mode", "webhooks", "CSV export", "a public API", "team accounts",
            "custom domains", "Apple Pay", "offline mode", "a Linux client", "audit logs", "shared folders",
            "recurring payments", "a student plan", "international shipping", "gift cards",
            "a family plan"]  # fmt: skip
ACTIONS = ["change my username", "export my data", "add a second user", "move my account to another email",
           "pause my subscription", "set up alerts", "print a shipping label", "connect it to Zapier",
           "get an invoice with my VAT number", "change the default currency", "restore an old version",
           "switch to annual billing", "delete a project", "transfer a domain in", "set a spending limit"]  # fmt: skip
HOWTO_FRAMES = ["does {B} support {f}?", "can I {a} in {B}?", "is there a way to {a} with {B}?",
                "how do I {a} on {B}?", "does anyone know if {B} has {f}?", "{B}: how to {a}?",
                "is {f} available on {B} yet?", "what's the easiest way to {a} in {B}?"]  # fmt: skip


def howto(seed: int = 16, count: int = 240) -> list[dict[str, str]]:
    """Neutral how-to questions from frames, features and actions."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for _ in range(count):
        brand, platform = rng.choice(BRANDS), rng.choice(["stackexchange", "reddit", "x", "hackernews", "mastodon"])
        text = rng.choice(HOWTO_FRAMES).format(B=brand, f=rng.choice(FEATURES), a=rng.choice(ACTIONS))
        rows.append({"text": rough(text, rng), "label": "neutral", "category": "howto", "platform": platform})
    return rows


def compose(seed: int = 15, per_situation: int = 6) -> list[dict[str, str]]:
    """Mentions composed from a situation and a frame, labelled by the situation."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for label, situations in (("negative", NEGATIVE_SITUATIONS), ("positive", POSITIVE_SITUATIONS),
                              ("neutral", NEUTRAL_SITUATIONS)):  # fmt: skip
        for situation in situations:
            frames = (
                FRAMES + (CHEERFUL if label != "neutral" else []) + (QUESTION_FRAMES if label != "positive" else [])
            )
            for frame in rng.sample(frames, per_situation):
                brand = rng.choice(BRANDS)
                text = frame.replace(
                    "{s_bare}", situation.split(" ", 1)[-1] if situation.startswith("has ") else situation
                )
                text = text.format(B=brand, s=situation)
                platform = rng.choice(PLATFORMS[:6])
                text = rough(decorate(text, label, "composed", brand, platform, rng), rng)
                rows.append({"text": text[:280], "label": label, "category": f"composed-{label}", "platform": platform})
    return rows


def main() -> int:
    for row in generate() + compose() + howto():
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
