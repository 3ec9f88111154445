print("devtrack")
