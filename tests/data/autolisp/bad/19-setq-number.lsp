;; expect: setq-not-symbol
(defun c:X (/ a)
  (setq a 1 2 3)
  (princ)
)
