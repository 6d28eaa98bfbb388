"""How long the stand-in takes for the Nth charge (a new card token, then the charge with an
idempotency key, through the real SDK, as the store's checkout makes it), for N up to 3,000: light
enough to run beside a test suite (one client, one stand-in, no server for the store).

    python -m bench.standin_growth [--upto 3000] [--at 100,1000,3000] [--window 50]
"""

import argparse
import statistics
import time

import stripe

from stripe_standin.process import start_standin


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--upto", type=int, default=3000)
    parser.add_argument("--at", default="100,1000,3000")
    parser.add_argument("--window", type=int, default=50, help="charges around each N whose median is printed")
    args = parser.parse_args(argv)
    marks = sorted(int(n) for n in args.at.split(","))
    with start_standin() as standin:
        client = stripe.StripeClient("sk_test_growth", base_addresses={"api": standin.url}, max_network_retries=0)
        timings = []
        for n in range(1, args.upto + 1):
            token = client.v1.tokens.create(
                params={"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
            ).id
            started = time.perf_counter()
            client.v1.charges.create(
                params={"amount": 999, "currency": "usd", "source": token, "metadata": {"n": str(n)}},
                options={"idempotency_key": f"growth-{n}"},
            )
            timings.append((time.perf_counter() - started) * 1000)
        for mark in marks:
            window = timings[max(0, mark - args.window) : mark]
            first = mark - len(window) + 1
            print(f"charge N={mark:5}: {statistics.median(window):6.2f} ms (median of charges {first}–{mark})")


if __name__ == "__main__":
    main()
