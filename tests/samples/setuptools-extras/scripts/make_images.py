"""Write the sample images (run once)."""
import random

random.seed(1)
for n in range(3):
    with open(f"images/sample_{n}.pgm", "w", encoding="ascii") as handle:
        handle.write("P2\n8 8\n255\n")
        handle.write(" ".join(str(random.randint(0, 255)) for _ in range(64)) + "\n")
