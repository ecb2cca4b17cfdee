;; expect: unclosed-paren, common-lisp
(defun c:TWO (/ n)
  (setq n 0)
  (dotimes (i 3) (setq n (+ n i)))
  (princ n
  (princ)
)
