import sys

import cv2
from PIL import Image


def main() -> None:
    image = cv2.imread(sys.argv[1])
    print(image.shape, Image.__name__)
