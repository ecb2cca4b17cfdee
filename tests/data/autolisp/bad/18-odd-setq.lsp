;; expect: odd-setq
(defun c:PTS (/ a b)
  (setq a (getpoint "\nA: ")
        b)
  (princ)
)
