"""The smallest demo: build w·a + b → z → σ(z) → C, run backward(), print every gradient.

Run:  python demos/engine_demo.py
"""

from tinygrad_lite import Value


def main() -> None:
    w = Value(0.8, label="w")
    a = Value(0.6, label="a")
    b = Value(-0.2, label="b")
    y = 1.0
    z = w * a + b
    out = z.sigmoid()
    cost = (out - y) ** 2
    cost.backward()
    print(f"z = w·a + b = {z.data:.4f}   a_out = σ(z) = {out.data:.4f}   C = {cost.data:.4f}")
    for v in (w, a, b):
        print(f"∂C/∂{v.label} = {v.grad:+.6f}")
    closed_form = a.data * out.data * (1 - out.data) * 2 * (out.data - y)
    print(f"closed form ∂C/∂w = a · σ'(z) · 2(σ(z) − y) = {closed_form:+.6f}")


if __name__ == "__main__":
    main()
