on-CPU profile (waiting not recorded; see --off-cpu): hottest path b <- a <- main (50.0% of samples)
s.folded: 60 samples

  Total    Self  Call tree (callers above callees)
100.00%   0.00%  
100.00%   0.00%  └─ main
 83.33%   0.00%     ├─ a
 50.00%  50.00%     │  ├─ b
 33.33%  33.33%     │  └─ c
 16.67%  16.67%     └─ d
