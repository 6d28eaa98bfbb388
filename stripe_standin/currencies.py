"""Currencies as Stripe counts them: which it takes, their decimals, its minimum and maximum amounts.

The stand-in's own table of Stripe's rules (https://docs.stripe.com/currencies), kept apart from the
store's (``album_store/stripe_amounts.py``) on purpose: the stand-in plays Stripe in the tests, so
a mistake in the store's table must meet Stripe's rule here, not the same mistake.
"""

ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg",
                "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
# Stripe's minimum charge amounts (in the currency's smallest unit) for the
# currencies a small store is likely to use; others only need amount >= 1.
MINIMUM_AMOUNT = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50,
                  "nzd": 50, "chf": 50, "jpy": 50, "sek": 300, "nok": 300,
                  "dkk": 250, "pln": 200, "czk": 1500, "huf": 17500,
                  "mxn": 1000, "brl": 50, "sgd": 50, "hkd": 400, "inr": 50}
MAXIMUM_AMOUNT = 99999999
CURRENCIES = set("""
aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob
brl bsd bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp
etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk
jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga
mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen
pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd
std szl thb tjs tnd top try ttd twd tzs uah ugx usd uyu uzs vnd vuv wst xaf
xcd xof xpf yer zar zmw
""".split())


def currency_digits(currency):
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def format_amount(amount, currency):
    digits = currency_digits(currency)
    symbol = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}.get(currency)
    value = f"{amount / 10 ** digits:,.{digits}f}"
    return f"{symbol}{value}" if symbol else f"{value} {currency}"
