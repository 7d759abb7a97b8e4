"""Read the Data Matrix codes on a label (pylibdmtx loads libdmtx at import)."""

from pylibdmtx.pylibdmtx import decode

print("decoder ready:", decode.__name__)
