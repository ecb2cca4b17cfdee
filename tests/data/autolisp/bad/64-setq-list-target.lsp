;; expect: setq-not-symbol
(defun c:SL2 (/ a b)
  (setq (a b) (list 1 2))
  (princ)
)
