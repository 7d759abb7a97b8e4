"""Sales dashboard: streamlit run app.py"""

import pandas as pd
import streamlit as st

SALES = pd.read_csv("data/sales.csv", parse_dates=["month"])

st.title("Monthly sales")
region = st.selectbox("Region", sorted(SALES["region"].unique()))
view = SALES[SALES["region"] == region]
st.line_chart(view, x="month", y="revenue")
st.metric("Total revenue", f"{view['revenue'].sum():,.0f}")
