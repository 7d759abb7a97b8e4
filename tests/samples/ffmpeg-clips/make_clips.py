"""Cut 10-second clips out of the videos in videos/ with ffmpeg."""

import os
import shutil
import subprocess
import sys
from pathlib import Path


def cut(src: Path, out: Path, start: int) -> None:
    subprocess.run(
        ["ffmpeg", "-y", "-ss", str(start), "-i", str(src), "-t", "10", "-c", "copy", str(out)],
        check=True,
    )


def main() -> None:
    if shutil.which("ffprobe") is None:
        sys.exit("ffprobe is missing")
    os.system("tesseract --version > /dev/null")
    out = Path("clips")
    out.mkdir(exist_ok=True)
    for video in sorted(Path("videos").glob("*.mp4")):
        cut(video, out / f"{video.stem}-000.mp4", 0)


if __name__ == "__main__":
    main()
