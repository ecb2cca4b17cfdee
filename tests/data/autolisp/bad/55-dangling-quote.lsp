;; expect: dangling-quote
(defun c:Q (/ a)
  (setq a ')
  (princ)
)
